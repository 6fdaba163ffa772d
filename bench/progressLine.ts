// The ramp's line per second (issue 14 part 6): interviews recording, machine CPU, loss so far —
// so a run going wrong is seen while it runs, not from its JSON afterwards.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { InterviewRecording } from '../recorder-pipeline/InterviewRecording.ts';
import { machineCpu, socketDrops, socketInodeSet, udpCounters } from './procStats.ts';

const TICKS_PER_SECOND = 100;

export interface ProgressSources {
  expected: number;
  recordings: () => InterviewRecording[];
  /** The pipeline's processes: drops at their sockets are loss. */
  pipelinePids: () => number[];
  cores: number;
  /** A trivial database query: its latency shows a queue in front of the database. */
  probeDatabase?: () => Promise<unknown>;
  /** Requests waiting for a database connection now. */
  databaseWaiting?: () => number;
}

/** Prints one line a second through `log` until the returned stop() is called. */
export function startProgressLine(sources: ProgressSources, log: (line: string) => void): () => void {
  const startedAt = Date.now();
  const udpStart = udpCounters();
  // Reading every process's fds each second would cost the service more than the line is worth:
  // the pipeline's sockets are listed once, and again every 10 s (ffmpeg restarts, late starts).
  let inodes = socketInodeSet(sources.pipelinePids());
  let dropsStart = socketDrops(inodes);
  let ticks = 0;
  let dropsBefore = 0;
  let machineBefore = machineCpu();
  // The service runs in this process: a late timer here is a late packet, query and request there.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const database = probeEachSecond(sources.probeDatabase);
  // Synchronous throughout (/proc and the relays' counters): a saturated end phase queues on the
  // libuv pool (file reads, stats, SQLite), and the line must not wait behind it.
  const timer = setInterval(() => {
    const machine = machineCpu();
    const busyCores = (machine.busy - machineBefore.busy) / TICKS_PER_SECOND / ((machine.total - machineBefore.total) / TICKS_PER_SECOND / sources.cores);
    machineBefore = machine;
    const recordings = sources.recordings();
    const up = recordings.filter((recording) => recording.ffmpegPid !== undefined).length;
    let forwarded = 0;
    let givenUp = 0;
    for (const recording of recordings) {
      for (const track of Object.values(recording.relayStats)) {
        forwarded += track.frames?.framesForwarded ?? 0;
        givenUp += (track.frames?.framesGivenUp ?? 0) + (track.frames?.framesDroppedUntilKeyFrame ?? 0);
      }
    }
    if (++ticks % 10 === 0) {
      // Counters of sockets that came or went would jump: carry the total over to the new set.
      // Sockets closed since (their counters gone) would make it negative.
      dropsBefore += Math.max(0, socketDrops(inodes) - dropsStart);
      inodes = socketInodeSet(sources.pipelinePids());
      dropsStart = socketDrops(inodes);
    }
    const datagrams = udpCounters().inDatagrams - udpStart.inDatagrams;
    const drops = dropsBefore + Math.max(0, socketDrops(inodes) - dropsStart);
    const percent = (part: number, whole: number) => ((100 * part) / Math.max(1, whole)).toFixed(4);
    const loopMaxMs = loopDelay.max / 1e6;
    loopDelay.reset();
    log(
      `t=${Math.round((Date.now() - startedAt) / 1000)}s up ${up}/${sources.expected} · cpu ${busyCores.toFixed(2)}/${sources.cores} · ` +
        `socket drops ${drops} (${percent(drops, datagrams)} %) · video frames lost ${givenUp} (${percent(givenUp, forwarded + givenUp)} %) · ` +
        `event loop max ${loopMaxMs.toFixed(0)} ms${database ? ` · database ${database.latency()}` : ''}` +
        (sources.databaseWaiting ? `, ${sources.databaseWaiting()} waiting` : ''),
    );
  }, 1000);
  return () => {
    clearInterval(timer);
    loopDelay.disable();
    database?.stop();
  };
}

/** One probe in flight at a time; reports the last one's latency, or how long the current one has waited. */
function probeEachSecond(probe: (() => Promise<unknown>) | undefined): { latency: () => string; stop: () => void } | undefined {
  if (!probe) return undefined;
  let lastMs: number | undefined;
  let pendingSince: number | undefined;
  const start = () => {
    if (pendingSince !== undefined) return;
    const startedAt = Date.now();
    pendingSince = startedAt;
    void probe()
      .catch(() => undefined)
      .finally(() => {
        lastMs = Date.now() - startedAt;
        pendingSince = undefined;
      });
  };
  start();
  const timer = setInterval(start, 1000);
  return {
    latency: () => (pendingSince !== undefined && Date.now() - pendingSince > (lastMs ?? 0) ? `waiting ${Date.now() - pendingSince} ms` : `${lastMs ?? '?'} ms`),
    stop: () => clearInterval(timer),
  };
}
