// The ramp's line per second (issue 14 part 6): interviews recording, machine CPU, loss so far —
// so a run going wrong is seen while it runs, not from its JSON afterwards.
import type { InterviewRecording } from '../recorder-pipeline/InterviewRecording.ts';
import { machineCpu, socketDrops, socketInodeSet, udpCounters } from './procStats.ts';

const TICKS_PER_SECOND = 100;

export interface ProgressSources {
  expected: number;
  recordings: () => InterviewRecording[];
  /** The pipeline's processes: drops at their sockets are loss. */
  pipelinePids: () => number[];
  cores: number;
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
      dropsBefore += socketDrops(inodes) - dropsStart;
      inodes = socketInodeSet(sources.pipelinePids());
      dropsStart = socketDrops(inodes);
    }
    const datagrams = udpCounters().inDatagrams - udpStart.inDatagrams;
    const drops = dropsBefore + socketDrops(inodes) - dropsStart;
    const percent = (part: number, whole: number) => ((100 * part) / Math.max(1, whole)).toFixed(4);
    log(
      `t=${Math.round((Date.now() - startedAt) / 1000)}s up ${up}/${sources.expected} · cpu ${busyCores.toFixed(2)}/${sources.cores} · ` +
        `socket drops ${drops} (${percent(drops, datagrams)} %) · video frames lost ${givenUp} (${percent(givenUp, forwarded + givenUp)} %)`,
    );
  }, 1000);
  return () => clearInterval(timer);
}
