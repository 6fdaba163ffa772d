import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { InterviewRecording } from '../../recorder-pipeline/InterviewRecording.ts';
import { finalizeRecording } from '../../recorder-pipeline/finalize/finalizeRecording.ts';
import { trackNames } from '../../recorder-pipeline/tracks.ts';
import { decodeErrors, hasCues, largestPtsStep, probeFile, probePackets } from '../support/ffprobe.ts';
import { fixtureSpecs } from '../support/mediaFixtures.ts';
import { testLogger, useRecorderMedia } from '../support/mediaRouter.ts';
import { SyntheticPublisher } from '../support/syntheticPublisher.ts';
import { waitFor } from '../support/testConfig.ts';

/** Records the publisher's producers for the given time; what a test waits for is the recording's length, not a condition. */
async function attachAll(recording: InterviewRecording, publisher: SyntheticPublisher): Promise<void> {
  await Promise.all(trackNames.map((track) => recording.attachProducer(track, publisher.producers[track])));
}

describe('an interview recording', () => {
  const media = useRecorderMedia();
  const { recordingDir } = media;

  it('records screen + audio and camera + audio into two seekable WebM files, stream-copied and in sync', async () => {
    const publisher = await SyntheticPublisher.start({ router: media.router });
    const outputDir = recordingDir();
    const recording = await InterviewRecording.create({ router: media.router, outputDir, logger: testLogger() });
    try {
      const flowing = once(recording, 'mediaFlowing');
      const startedAt = Date.now();
      await attachAll(recording, publisher);
      await flowing;
      await delay(8000 - (Date.now() - startedAt));
      const stats = await recording.stats();
      const elapsedSeconds = (Date.now() - startedAt) / 1000;
      await recording.stop();
      const wallSeconds = (Date.now() - startedAt) / 1000;

      expect(stats.segments).toHaveLength(1);
      expect(stats.bytesWritten.screen).toBeGreaterThan(1_000_000);
      expect(stats.bytesWritten.candidate).toBeGreaterThan(500_000);
      expect(stats.relay.screen.packetsForwarded).toBeGreaterThan(1000);
      const usage = stats.ffmpeg!.usage!;
      console.info(`[measure] ffmpeg CPU ${((100 * usage.cpuSeconds) / elapsedSeconds).toFixed(1)}% of a core, RSS ${(usage.rssBytes / 2 ** 20).toFixed(1)} MiB over ${elapsedSeconds.toFixed(1)} s`);

      const { screenPath, candidatePath } = await finalizeRecording(outputDir);
      for (const [file, spec] of [[screenPath, fixtureSpecs.screen], [candidatePath, fixtureSpecs.camera]] as const) {
        const probe = await probeFile(file);
        expect(probe.formatName).toContain('webm');
        // Copied, not re-encoded: the fixture's codec and frame size.
        expect(probe.video).toMatchObject({ codecName: 'vp9', width: spec.width, height: spec.height });
        expect(probe.audio).toMatchObject({ codecName: 'opus', sampleRate: 48000, channels: 2 });
        expect(probe.durationSeconds).toBeGreaterThan(wallSeconds - 1.5);
        expect(probe.durationSeconds).toBeLessThan(wallSeconds + 1.5);
        expect(Math.abs(probe.video!.startTime! - probe.audio!.startTime!)).toBeLessThan(0.1);
        console.info(`[measure] ${file.split('/').pop()}: ${probe.durationSeconds} s of ${wallSeconds.toFixed(2)} s, A/V start offset ${((probe.video!.startTime! - probe.audio!.startTime!) * 1000).toFixed(0)} ms`);
        expect(await hasCues(file)).toBe(true);
        // Key frames every ~2 s in the fixture: at least three seek points in 8 s.
        const keyFrames = (await probePackets(file, 'v:0')).filter((packet) => packet.keyFrame);
        expect(keyFrames.length).toBeGreaterThanOrEqual(3);
      }
    } finally {
      await recording.stop();
      await publisher.close();
    }
  });

  it('continues the same segment when the publisher re-publishes, keeping the pause in the timeline', async () => {
    const first = await SyntheticPublisher.start({ router: media.router });
    const outputDir = recordingDir();
    const recording = await InterviewRecording.create({ router: media.router, outputDir, logger: testLogger() });
    const exits: Array<{ requested: boolean; stderrTail: string[] }> = [];
    recording.on('ffmpegExited', (exit) => exits.push(exit));
    const generations: Array<{ track: string; gapMs: number }> = [];
    recording.on('generation', (info) => generations.push(info));
    let second: SyntheticPublisher | undefined;
    try {
      const flowing = once(recording, 'mediaFlowing');
      const startedAt = Date.now();
      await attachAll(recording, first);
      await flowing;
      await delay(3000);
      // The browser reloads: its producers go away, and new ones come ~2 s later.
      await first.close();
      await delay(2000);
      second = await SyntheticPublisher.start({ router: media.router });
      await attachAll(recording, second);
      await waitFor(() => generations.length === 3, { what: 'all three tracks to continue with the new producers' });
      await delay(3000);
      await recording.stop();
      const wallSeconds = (Date.now() - startedAt) / 1000;

      const stats = await recording.stats();
      expect(stats.segments).toHaveLength(1);
      expect(stats.generations).toEqual({ screen: 2, camera: 2, audio: 2 });
      expect(exits).toHaveLength(1);
      expect(exits[0]!.requested).toBe(true);
      expect(exits[0]!.stderrTail.join('\n')).not.toMatch(/dropping old packet/i);
      for (const { gapMs } of generations) expect(gapMs).toBeGreaterThan(1500);

      const { screenPath, candidatePath } = await finalizeRecording(outputDir);
      for (const file of [screenPath, candidatePath]) {
        const probe = await probeFile(file);
        expect(probe.durationSeconds).toBeGreaterThan(wallSeconds - 1.5);
        expect(probe.durationSeconds).toBeLessThan(wallSeconds + 1.5);
        expect(Math.abs(probe.video!.startTime! - probe.audio!.startTime!)).toBeLessThan(0.1);
        expect(await hasCues(file)).toBe(true);
        // The pause shows as one step of about its length, not as a jump by hours.
        for (const stream of ['v:0', 'a:0']) {
          const step = largestPtsStep(await probePackets(file, stream));
          expect(step).toBeGreaterThan(1.5);
          expect(step).toBeLessThan(4);
        }
        console.info(`[measure] re-published ${file.split('/').pop()}: ${probe.durationSeconds} s of ${wallSeconds.toFixed(2)} s`);
      }
    } finally {
      await recording.stop();
      await first.close();
      await second?.close();
    }
  });

  it('begins both files at the same instant when one video starts a second after the other', async () => {
    // A screen share that sends no frame for a while (a static page under load) left the camera's
    // file beginning 1.2 s before the screen's in CI: each file began with its own first frame,
    // so the two players and every media time shared by the files were off by the difference.
    const publisher = await SyntheticPublisher.start({ router: media.router });
    const outputDir = recordingDir();
    const recording = await InterviewRecording.create({ router: media.router, outputDir, logger: testLogger() });
    const LATE_MS = 1200;
    try {
      await publisher.producers.camera.pause();
      const flowing = once(recording, 'mediaFlowing');
      await attachAll(recording, publisher);
      await waitFor(async () => (await recording.stats()).relay.screen.packetsForwarded > 0, { what: 'the screen flowing to ffmpeg' });
      const screenAt = Date.now();
      await delay(LATE_MS);
      await publisher.producers.camera.resume();
      const [{ startedAtMs }] = (await flowing) as [{ startedAtMs: number }];
      const cameraAt = Date.now();
      await delay(3000);
      await recording.stop();

      const { screenPath, candidatePath } = await finalizeRecording(outputDir);
      const [screen, candidate] = await Promise.all([probeFile(screenPath), probeFile(candidatePath)]);
      console.info(
        `[measure] camera ${cameraAt - screenAt} ms after the screen: screen.webm ${screen.durationSeconds} s (video from ${screen.video!.startTime}, audio from ${screen.audio!.startTime}), ` +
          `candidate.webm ${candidate.durationSeconds} s (video from ${candidate.video!.startTime}, audio from ${candidate.audio!.startTime})`,
      );
      // The segment's time 0 is the screen's start, in both files.
      expect(Math.abs(startedAtMs - screenAt)).toBeLessThan(300);
      expect(Math.abs(screen.durationSeconds! - candidate.durationSeconds!)).toBeLessThan(0.15);
      expect(Math.abs(screen.video!.startTime! - screen.audio!.startTime!)).toBeLessThan(0.1);
      expect(candidate.audio!.startTime!).toBeLessThan(0.1);
      // The camera begins inside its file where it began on the wall clock.
      expect(candidate.video!.startTime!).toBeGreaterThan((cameraAt - screenAt) / 1000 - 0.3);
      expect(candidate.video!.startTime!).toBeLessThan((cameraAt - screenAt) / 1000 + 0.6);
    } finally {
      await recording.stop();
      await publisher.close();
    }
  });

  it('records a camera that sends flexible-mode VP9, as Chromium does, into video that decodes cleanly', async () => {
    const publisher = await SyntheticPublisher.start({ router: media.router, flexibleCamera: true });
    const outputDir = recordingDir();
    const recording = await InterviewRecording.create({ router: media.router, outputDir, logger: testLogger() });
    try {
      const flowing = once(recording, 'mediaFlowing');
      await attachAll(recording, publisher);
      await flowing;
      const flowingAt = Date.now();
      await delay(4000);
      const stats = await recording.stats();
      await recording.stop();
      const wallSeconds = (Date.now() - flowingAt) / 1000;
      // Every camera packet went through the descriptor rewrite; the screen's needed none.
      expect(stats.relay.camera.descriptorsRewritten).toBeGreaterThan(300);
      expect(stats.relay.camera.descriptorsRewritten).toBe(stats.relay.camera.packetsReceived);
      expect(stats.relay.screen.descriptorsRewritten).toBe(0);

      const { candidatePath } = await finalizeRecording(outputDir);
      const probe = await probeFile(candidatePath);
      expect(probe.video).toMatchObject({ codecName: 'vp9', width: fixtureSpecs.camera.width, height: fixtureSpecs.camera.height });
      // mediasoup holds a flexible-mode camera back until its next key frame (≤ 2 s in the fixture,
      // which cannot answer key frame requests): the audio begins with the screen, and the camera
      // inside its file where it came.
      console.info(`[measure] flexible camera: ${probe.durationSeconds} s of ${wallSeconds.toFixed(2)} s from media flowing to stopped, A/V start offset ${((probe.video!.startTime! - probe.audio!.startTime!) * 1000).toFixed(0)} ms`);
      expect(probe.durationSeconds).toBeGreaterThan(wallSeconds - 0.5);
      // Never longer than the media it was sent (a duration from a bad timestamp would be):
      // measured 0.06–0.07 s over the wall time from "flowing" to stopped, in 3 runs.
      expect(probe.durationSeconds).toBeLessThan(wallSeconds + 2.5);
      expect(probe.audio!.startTime!).toBeLessThan(0.1);
      expect(probe.video!.startTime!).toBeLessThan(2.5);
      expect(await decodeErrors(candidatePath)).toEqual([]);
      const packets = await probePackets(candidatePath, 'v:0');
      expect(packets[0]!.keyFrame).toBe(true);
      expect(packets.length).toBeGreaterThan(45);
    } finally {
      await recording.stop();
      await publisher.close();
    }
  });
});
