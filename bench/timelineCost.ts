// `npx tsx bench/timelineCost.ts [--window-seconds 30] [--rate 5]`: what the interview's timeline
// costs (issue 23), on the real service in this process.
//
// 1. Pipeline cores of one live synthetic interview (service process + its mediasoup worker + the
//    recorder's ffmpeg) in alternating windows without and with a steady stream of candidate
//    reports over signalling (`--rate` a second, within the page allowance), twice each.
// 2. What the timeline adds to end → URLs: the work the finalize does for it (recompute every
//    entry's media time from the segments, render timeline.vtt, upload it) for the log of a 1-minute
//    and a 10-minute interview with one report a second, and for a log at the 2,000 cap.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { io } from 'socket.io-client';
import { segmentDir, writeSegmentDuration, writeSegmentMediaStart } from '../recorder-pipeline/segments.ts';
import { SIGNALING_NAMESPACE } from '../shared/protocol.ts';
import { uploadTimelineVtt } from '../server/timeline/timelineFile.ts';
import { publishSynthetic, waitForRecordedBytes } from '../test/support/recordedInterview.ts';
import { startTestService } from '../test/support/testService.ts';
import { CpuMeter, round } from './procStats.ts';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

/** This process's mediasoup workers (children named mediasoup-worker). */
function workerPids(): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && comm.startsWith('mediasoup-work')) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

async function main(): Promise<void> {
  const windowMs = option('window-seconds', 30) * 1000;
  const rate = option('rate', 5);
  const t = await startTestService();
  try {
    // 1. Cores, without and with a steady report stream.
    const interview = await t.createInterview({ durationSeconds: 3600 });
    const publisher = await publishSynthetic(t, interview.id);
    await waitForRecordedBytes(t, interview.id, 300_000);
    const socket = io(`${t.url}${SIGNALING_NAMESPACE}`, { auth: { token: interview.candidateToken }, transports: ['websocket'], reconnection: false, forceNew: true });
    await new Promise<void>((resolve, reject) => socket.once('connect', () => resolve()).once('connect_error', reject));
    await socket.timeout(10_000).emitWithAck('join', { interviewId: interview.id });
    const session = t.service.sessions.get(interview.id)!;
    const groups = () => ({ service: [process.pid], worker: workerPids(), ffmpeg: session.recording?.ffmpegPid ? [session.recording.ffmpegPid] : [] });
    const windows: Array<{ events: boolean; cores: number; service: number; accepted: number }> = [];
    for (const events of [false, true, false, true]) {
      const meter = new CpuMeter(groups);
      meter.start(500);
      let accepted = 0;
      const until = Date.now() + windowMs;
      while (Date.now() < until) {
        if (events) {
          const kinds = ['window_blurred', 'window_focused', 'tab_hidden', 'tab_visible', 'copied'];
          const answer = (await socket.timeout(10_000).emitWithAck('reportEvent', { kind: kinds[accepted % kinds.length], at: Date.now(), details: { n: accepted } })) as { ok: boolean; data?: { accepted: boolean } };
          if (answer.ok && answer.data?.accepted) accepted++;
        }
        await delay(1000 / rate);
      }
      const usage = meter.stop();
      const cores = Object.values(usage.groups).reduce((sum, group) => sum + group.cores, 0);
      windows.push({ events, cores: round(cores, 4), service: usage.groups.service!.cores, accepted });
      console.log(`window ${events ? 'with' : 'without'} events: pipeline ${round(cores, 4)} cores (service ${usage.groups.service!.cores}, worker ${usage.groups.worker!.cores}, ffmpeg ${usage.groups.ffmpeg!.cores}); ${accepted} reports stored`);
    }
    socket.disconnect();
    await publisher.close();
    const mean = (events: boolean) => windows.filter((w) => w.events === events).reduce((sum, w) => sum + w.cores, 0) / 2;
    const without = mean(false);
    const withEvents = mean(true);
    console.log(`pipeline cores per interview: ${round(without, 4)} without, ${round(withEvents, 4)} with ${rate} reports/s: ${round(((withEvents - without) / without) * 100, 1)} %`);
    await t.api('POST', `/api/interviews/${interview.id}/end`, {});

    // 2. The finalize's added work for logs of a given size, on a recording of two segments.
    for (const [label, count] of [['1 min, 1 report/s', 60], ['10 min, 1 report/s', 600], ['the 2,000 cap', 2000]] as const) {
      const other = await t.createInterview({ durationSeconds: 3600 });
      const otherSession = t.service.sessions.open(other.id);
      const dir = t.service.sessions.recordingDirOf(other.id);
      const start = Date.now() - count * 1000;
      for (const index of [0, 1]) {
        fs.mkdirSync(segmentDir(dir, index), { recursive: true });
        await writeSegmentMediaStart(segmentDir(dir, index), new Date(start + index * (count / 2) * 1000));
      }
      for (let i = 0; i < count; i++) await otherSession.timeline.record('media_path', { n: i });
      await writeSegmentDuration(segmentDir(dir, 0), count / 2 - 3);
      const began = performance.now();
      const events = await otherSession.timeline.recomputeMediaTimes();
      const recomputed = performance.now();
      await uploadTimelineVtt(t.service.objectStore, other.id, events);
      const ms = performance.now() - began;
      console.log(`end → URLs added by the timeline for ${label} (${events.length} entries): ${round(ms, 0)} ms (media times ${round(recomputed - began, 0)} ms, timeline.vtt ${round(ms - (recomputed - began), 0)} ms)`);
      fs.rmSync(path.join(dir), { recursive: true, force: true });
    }
  } finally {
    await t.close();
  }
}

await main();
