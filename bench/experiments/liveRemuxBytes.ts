// Verifies the assumption progressive upload rests on: while the live remux output grows, which
// bytes of it ever change? Records a real segment (synthetic publisher → mediasoup → relay →
// recording ffmpeg), live-remuxes it, snapshots the output every 2 s and compares each snapshot
// with the final file. Run: npx tsx bench/experiments/liveRemuxBytes.ts [seconds]
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { InterviewRecording } from '../../recorder-pipeline/InterviewRecording.ts';
import { LiveRemux } from '../../recorder-pipeline/progressive/LiveRemux.ts';
import { trackNames } from '../../recorder-pipeline/tracks.ts';
import { startMediaRouter, testLogger } from '../../test/support/mediaRouter.ts';
import { SyntheticPublisher } from '../../test/support/syntheticPublisher.ts';
import { tempDir, waitFor } from '../../test/support/testConfig.ts';

const seconds = Number(process.argv[2] ?? 30);
const media = await startMediaRouter();
const dir = tempDir('live-remux-bytes-');
const publisher = await SyntheticPublisher.start({ router: media.router, srtp: true });
const recording = await InterviewRecording.create({ router: media.router, outputDir: dir, logger: testLogger() });
for (const track of trackNames) await recording.attachProducer(track, publisher.producers[track]);
const source = path.join(dir, 'segment-000', 'screen.webm');
await waitFor(() => fs.existsSync(source), { timeoutMs: 10_000 });
const output = path.join(dir, 'live', 'screen.webm');
const remux = await LiveRemux.start({ source, output });
const snapshots: Buffer[] = [];
const deadline = Date.now() + seconds * 1000;
while (Date.now() < deadline) {
  await delay(2000);
  if (fs.existsSync(output)) snapshots.push(fs.readFileSync(output));
}
await recording.stop();
await publisher.close();
const finishStarted = Date.now();
await remux.finish();
const finishMs = Date.now() - finishStarted;
const final = fs.readFileSync(output);
const reference = path.join(dir, 'reference.webm');
const { execFileSync } = await import('node:child_process');
execFileSync('ffmpeg', ['-v', 'error', '-i', source, '-map', '0', '-c', 'copy', '-copyinkf', '-f', 'webm', '-y', reference]);
let worstFirstDiff = 0;
let maxDiffEnd = 0;
for (const snapshot of snapshots) {
  let first = -1;
  let last = -1;
  for (let i = 0; i < snapshot.length; i++) {
    if (snapshot[i] !== final[i]) {
      if (first < 0) first = i;
      last = i;
    }
  }
  maxDiffEnd = Math.max(maxDiffEnd, last + 1);
  worstFirstDiff = Math.max(worstFirstDiff, first);
  console.log(`snapshot ${snapshot.length} B: differs from the final file in [${first}, ${last}] (${last < 0 ? 0 : last - first + 1} B span)`);
}
console.log(JSON.stringify({ sourceBytes: fs.statSync(source).size, finalBytes: final.length, referenceBytes: fs.statSync(reference).size, snapshots: snapshots.length, changedRegionEndsBefore: maxDiffEnd, finishMs, identicalToOfflineRemux: final.equals(fs.readFileSync(reference)) }, null, 2));
media.close();
fs.rmSync(dir, { recursive: true, force: true });
