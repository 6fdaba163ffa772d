import { pino } from 'pino';
import type { types } from 'mediasoup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InterviewRoom, type TransportAppData } from '../../../server/sfu/InterviewRoom.ts';
import type { WorkerPool } from '../../../server/sfu/WorkerPool.ts';
import type { TrackName } from '../../../shared/protocol.ts';
import { waitFor } from '../../support/testConfig.ts';
import { startTestWorkerPool } from '../../support/mediaRouter.ts';

const logger = pino({ level: 'silent' });
const transport = { listenIp: { ip: '127.0.0.1' }, maxIncomingBitrate: 5_000_000, initialAvailableOutgoingBitrate: 1_000_000 };

// What a browser's offer turns into; the room never needs media to accept a producer.
function rtpParameters(track: TrackName, ssrc: number): types.RtpParameters {
  return track === 'audio'
    ? { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }], encodings: [{ ssrc }] }
    : { codecs: [{ mimeType: 'video/VP9', payloadType: 101, clockRate: 90000, parameters: { 'profile-id': 0 } }], encodings: [{ ssrc }] };
}

describe('an interview room', () => {
  let pool: WorkerPool;

  beforeAll(async () => {
    pool = await startTestWorkerPool(logger);
  });
  afterAll(() => pool?.close());

  const openRoom = (options: { idleCloseMs?: number } = {}) => InterviewRoom.create({ interviewId: crypto.randomUUID(), workers: pool, transport, logger, ...options });

  it('stays open while an adopted producer sends media with nobody connected, and goes idle once it stops', async () => {
    // Long enough that creating the transport and producer under load fits in the first period.
    const room = await openRoom({ idleCloseMs: 1000 });
    const plain = await room.router.createPlainTransport({ listenIp: { ip: '127.0.0.1' }, rtcpMux: false, comedia: true });
    const producer = await plain.produce({ kind: 'audio', rtpParameters: rtpParameters('audio', 77) });
    room.adoptProducer('audio', producer);
    // Two and a half idle periods pass: the room must still be open (nothing to poll for; the wait is the assertion).
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(room.closed).toBe(false);
    producer.close();
    await waitFor(() => room.closed, { timeoutMs: 5000, what: 'the idle room to close' });
    plain.close();
  });

  it('announces each producer, replaces an earlier generation of a track, and closes them all on close()', async () => {
    const room = await openRoom();
    const events: string[] = [];
    room.on('producer', (track, producer) => events.push(`producer ${track}#${producer.appData.generation}`));
    room.on('producerClosed', (track, producer) => events.push(`closed ${track}#${producer.appData.generation}`));
    room.on('closed', (reason) => events.push(`room ${reason}`));
    const send = await room.createWebRtcTransport('send');

    const screen1 = await room.produce(send, 'screen', 'video', rtpParameters('screen', 1));
    await room.produce(send, 'camera', 'video', rtpParameters('camera', 2));
    await room.produce(send, 'audio', 'audio', rtpParameters('audio', 3));
    const screen2 = await room.produce(send, 'screen', 'video', rtpParameters('screen', 4));
    expect(room.getProducer('screen')).toBe(screen2);
    expect(screen1.closed).toBe(true);
    expect(room.tracks).toEqual(['screen', 'camera', 'audio']);

    room.closeProducer('camera');
    expect(room.getProducer('camera')).toBeUndefined();
    room.close('ended');
    room.close('ended');
    expect(events).toEqual([
      'producer screen#1',
      'producer camera#2',
      'producer audio#3',
      'closed screen#1',
      'producer screen#4',
      'closed camera#2',
      'closed screen#4',
      'closed audio#3',
      'room ended',
    ]);
    expect(room.router.closed).toBe(true);
  });

  it('refuses a producer or consumer whose connection closed while the worker made it', async () => {
    const room = await openRoom();
    const announced: string[] = [];
    room.on('producer', (track) => announced.push(track));
    const send = await room.createWebRtcTransport('send');
    // The request is on its way to the worker when the connection goes (a reload mid-publish).
    const producing = room.produce(send, 'screen', 'video', rtpParameters('screen', 9));
    send.close();
    await expect(producing).rejects.toMatchObject({ code: 'conflict' });
    expect(room.tracks).toEqual([]);
    expect(announced).toEqual([]);

    const live = await room.createWebRtcTransport('send');
    await room.produce(live, 'screen', 'video', rtpParameters('screen', 10));
    const recv = await room.createWebRtcTransport('recv');
    const consuming = room.consume(recv, 'screen', room.router.rtpCapabilities);
    recv.close();
    await expect(consuming).rejects.toMatchObject({ code: 'conflict' });
    room.close('ended');
  });

  it('adopts a producer made on its router elsewhere as a new generation of the track', async () => {
    const room = await openRoom();
    const seen: string[] = [];
    room.on('producer', (track, producer) => seen.push(`${track}#${producer.appData.generation}`));
    const plain = await room.router.createPlainTransport({ listenIp: '127.0.0.1', rtcpMux: true, comedia: true });
    const producer = await plain.produce({ kind: 'video', rtpParameters: rtpParameters('screen', 10) });
    expect(() => room.adoptProducer('audio', producer)).toThrow(/must be audio/);
    const adopted = room.adoptProducer('screen', producer);
    expect(room.getProducer('screen')).toBe(adopted);
    expect(adopted.appData).toMatchObject({ track: 'screen', generation: 1 });
    expect(seen).toEqual(['screen#1']);
    room.close();
  });

  it('drops the producers of a transport that closes (the candidate left)', async () => {
    const room = await openRoom();
    const send = await room.createWebRtcTransport('send');
    await room.produce(send, 'audio', 'audio', rtpParameters('audio', 5));
    const closed = new Promise((resolve) => room.once('producerClosed', (track) => resolve(track)));
    send.close();
    expect(await closed).toBe('audio');
    expect(room.tracks).toEqual([]);
    room.close();
  });

  it('refuses producing on a receive transport, a kind that does not fit the track, and consuming what is not published', async () => {
    const room = await openRoom();
    const recv = await room.createWebRtcTransport('recv');
    const send = await room.createWebRtcTransport('send');
    await expect(room.produce(recv, 'screen', 'video', rtpParameters('screen', 6))).rejects.toMatchObject({ code: 'forbidden' });
    await expect(room.produce(send, 'audio', 'video', rtpParameters('screen', 7))).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(room.consume(recv, 'screen', room.rtpCapabilities)).rejects.toMatchObject({ code: 'not_found' });
    await room.produce(send, 'screen', 'video', rtpParameters('screen', 8));
    await expect(room.consume(send, 'screen', room.rtpCapabilities)).rejects.toMatchObject({ code: 'forbidden' });
    const consumer = await room.consume(recv, 'screen', room.rtpCapabilities as types.RtpCapabilities);
    expect(consumer.paused).toBe(true);
    expect(consumer.appData).toEqual({ track: 'screen' });
    room.close();
    await expect(room.createWebRtcTransport('send' as TransportAppData['direction'])).rejects.toMatchObject({ code: 'unavailable' });
  });

  it('closes itself when nobody has been in it for the idle period', async () => {
    const room = await openRoom({ idleCloseMs: 100 });
    room.addMember('a');
    room.removeMember('a');
    await waitFor(() => room.closed, { timeoutMs: 5000, what: 'the idle room to close' });
  });

  it('closes with reason workerDied when its worker dies', async () => {
    const room = await openRoom();
    const send = await room.createWebRtcTransport('send');
    await room.produce(send, 'camera', 'video', rtpParameters('camera', 9));
    const events: string[] = [];
    room.on('producerClosed', (track) => events.push(`closed ${track}`));
    const closed = new Promise((resolve) => room.once('closed', resolve));
    process.kill(pool.workers[0]!.pid, 'SIGKILL');
    expect(await closed).toBe('workerDied');
    expect(events).toEqual(['closed camera']);
    await waitFor(() => pool.isUp(), { what: 'a replacement worker' });
  });
});
