// Fault: the service is SIGKILLed (whole process group) and stays down past the interview's end.
// At the next start the interview is ended by its re-armed timer and finalized from disk: the
// SIGKILLed segment is repaired (not discarded), and the time after the kill is a gap up to the end.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestBrowser } from '../support/browser.ts';
import {
  downloadTo,
  type InterviewState,
  recordedMedia,
  segmentDirs,
  startLiveInterview,
  waitForInterview,
} from '../support/faults.ts';
import { hasCues } from '../support/ffprobe.ts';
import { ServiceProcess, serviceEnv, type ServiceEnv } from '../support/serviceProcess.ts';
import { tempDir, waitFor } from '../support/testConfig.ts';

/** Recording time before the kill (the sleep is this recording time). */
const RECORD_MS = 5000;

describe('when the service is killed and the interview ends while it is down', () => {
  let env: ServiceEnv;
  let service: ServiceProcess;
  let browser: TestBrowser;
  let interview: { id: string; candidateUrl: string };
  let live: InterviewState;
  let flowingAt = 0;
  const downloads = tempDir('fault-downloads-');

  beforeAll(async () => {
    env = await serviceEnv();
    ({ service, browser, interview, live, mediaFlowingAt: flowingAt } = await startLiveInterview(env, 10));
  });

  afterAll(async () => {
    await browser?.close();
    await service?.kill();
    fs.rmSync(env.DATA_DIR, { recursive: true, force: true });
    fs.rmSync(downloads, { recursive: true, force: true });
  });

  it('finalizes it from disk at start-up, repairing the killed segment, with the outage as a gap up to the end', async () => {
    await sleep(RECORD_MS);
    const killAt = Date.now();
    await service.kill();
    expect(segmentDirs(env.DATA_DIR, interview.id)).toHaveLength(1);
    // The outage: the service stays down until the interview's time is up.
    await sleep(Math.max(0, Date.parse(live.endsAt!) - Date.now()) + 500);

    const restartAt = Date.now();
    service = await ServiceProcess.start(env);
    const done = await waitForInterview(service, interview.id, (state) => state.status === 'completed', 'the interview to be finalized at start-up', 60_000);
    expect(Date.parse(done.completedAt!)).toBeGreaterThanOrEqual(restartAt);
    expect(done.gaps).toHaveLength(1);
    expect(done.gaps[0]!.cause).toBe('service restarted');
    expect(Date.parse(done.gaps[0]!.start)).toBeGreaterThan(killAt - 2000);
    expect(Date.parse(done.gaps[0]!.start)).toBeLessThanOrEqual(killAt);
    expect(Date.parse(done.gaps[0]!.end!)).toBe(Date.parse(done.completedAt!));

    const recorded = (killAt - flowingAt) / 1000;
    for (const kind of ['screen', 'candidate'] as const) {
      const file = await downloadTo(kind === 'screen' ? done.screenVideo : done.candidateVideo, downloads, `${kind}.webm`);
      const media = await recordedMedia(file);
      console.log(`${kind}.webm: ${media.durationSeconds} s of the ${recorded.toFixed(2)} s recorded before the kill (${(recorded - media.durationSeconds!).toFixed(2)} s lost)`);
      expect(media.durationSeconds!).toBeGreaterThan(recorded - 2);
      expect(media.durationSeconds!).toBeLessThan(recorded + 1);
      expect(Math.abs(media.video.last - media.audio.last)).toBeLessThan(0.5);
      expect(await hasCues(file)).toBe(true);
    }
    // Removed once the filmstrip is made from it (just after the URLs).
    await waitFor(() => !fs.existsSync(path.join(env.DATA_DIR, 'recordings', interview.id)), { timeoutMs: 30_000, what: 'the local recording removed' });
  });
});
