// An admin request for an interview another node owns goes to that node (cluster mode). An owner
// that answers has its answer relayed; one that answers 5xx leaves the request to this node; one that
// cannot be reached while its heartbeat says it is alive gets 503, never an end stored here while
// the recording goes on there (a wrong INTERNAL_URL once did exactly that: haproxyRolling).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { forwardToOwner, type OwnerForwarding } from '../../../server/http/forwardToOwner.ts';
import { freePort } from '../../support/testConfig.ts';

const INTERVIEW_ID = '3f2b9a7c-1d4e-4b8f-9a6c-2e5d7f8a9b0c';
const request = { method: 'POST', url: `/api/interviews/${INTERVIEW_ID}/end`, headers: { authorization: 'Bearer admin-token' }, body: {} } as unknown as FastifyRequest;

function replyRecorder() {
  const sent: { status?: number; body?: string } = {};
  const reply = {
    code(status: number) {
      sent.status = status;
      return reply;
    },
    header() {
      return reply;
    },
    send(body: string) {
      sent.body = body;
      return reply;
    },
  };
  return { reply: reply as unknown as FastifyReply, sent };
}

const forwardingTo = (ownerUrl: string): OwnerForwarding => ({ ownerUrlOf: async () => ownerUrl, recordsHere: () => false, nodeId: 'node-b', logger: pino({ level: 'silent' }) });

describe('forwardToOwner', () => {
  let owner: http.Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => (owner ? owner.close(resolve) : resolve(undefined)));
    owner = undefined;
  });

  async function startOwner(status: number): Promise<{ url: string; received: Array<{ url?: string; forwardedBy?: string | string[] }> }> {
    const received: Array<{ url?: string; forwardedBy?: string | string[] }> = [];
    owner = http.createServer((incoming, answer) => {
      received.push({ url: incoming.url, forwardedBy: incoming.headers['x-interview-ingest-forwarded-by'] });
      answer.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ id: INTERVIEW_ID, status: 'finalizing' }));
    });
    await new Promise<void>((resolve) => owner!.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(owner.address() as AddressInfo).port}`, received };
  }

  it("relays the owner's answer, marked as forwarded once", async () => {
    const { url, received } = await startOwner(200);
    const { reply, sent } = replyRecorder();
    expect(await forwardToOwner(request, reply, INTERVIEW_ID, forwardingTo(url))).toBe(true);
    expect(sent).toEqual({ status: 200, body: JSON.stringify({ id: INTERVIEW_ID, status: 'finalizing' }) });
    expect(received).toEqual([{ url: `/api/interviews/${INTERVIEW_ID}/end`, forwardedBy: 'node-b' }]);
  });

  it('leaves the request to this node when the owner answers 5xx (shutting down, broken)', async () => {
    const { url } = await startOwner(503);
    expect(await forwardToOwner(request, replyRecorder().reply, INTERVIEW_ID, forwardingTo(url))).toBe(false);
  });

  it('answers 503 when the owner cannot be reached: nothing is acted on here', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const { reply, sent } = replyRecorder();
    await expect(forwardToOwner(request, reply, INTERVIEW_ID, forwardingTo(closed))).rejects.toMatchObject({ code: 'unavailable', message: expect.stringContaining('INTERNAL_URL') });
    expect(sent).toEqual({});
  });
});
