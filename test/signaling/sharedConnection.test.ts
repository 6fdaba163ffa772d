import { Manager } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNALING_NAMESPACE } from '../../shared/protocol.ts';
import { startTestService, type TestService } from '../support/testService.ts';
import { connected, request } from './signalingClient.ts';

// socket.io multiplexes namespaces over one transport: a client that asks for two namespaces through
// one Manager has one engine.io connection. A refusal closes that connection only when nothing
// accepted lives on it.
describe('a refused namespace connection closes only a transport that holds nothing else', () => {
  let ts: TestService;

  beforeAll(async () => {
    ts = await startTestService();
  });

  afterAll(async () => {
    await ts?.close();
  });

  const managerOf = () => new Manager(ts.url, { transports: ['websocket'], reconnection: false });
  const refusalOf = (socket: ReturnType<Manager['socket']>) =>
    new Promise<{ message: string; data: unknown }>((resolve) => socket.once('connect_error', (error: Error & { data?: unknown }) => resolve({ message: error.message, data: error.data })));

  it('keeps an accepted signalling connection working when the default namespace is refused on its transport', async () => {
    const interview = await ts.createInterview();
    const manager = managerOf();
    try {
      const signaling = await connected(manager.socket(SIGNALING_NAMESPACE, { auth: { token: interview.proctorToken } }));
      const refused = refusalOf(manager.socket('/'));
      expect((await refused).data).toEqual({ code: 'not_found' });
      // Past the tick the refusal closes a transport on: the signalling still answers on it.
      await new Promise((resolve) => setImmediate(resolve));
      expect((await request(signaling, 'join', { interviewId: interview.id })).ok).toBe(true);
      expect(signaling.connected).toBe(true);
      expect(manager.engine.readyState).toBe('open');
    } finally {
      manager.engine.close();
    }
  });
});
