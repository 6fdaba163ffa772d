import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { AppError } from '../errors.ts';

/**
 * Marks an admin request one node forwarded to the interview's owner: the receiver acts on it
 * itself, whatever it believes about ownership, so a request never travels a second hop (two nodes
 * that briefly disagree about the owner cannot bounce it between them).
 */
const FORWARDED_HEADER = 'x-interview-ingest-forwarded-by';

/** How long the owner may take to answer before this node acts itself (an end answers once stored). */
const FORWARD_TIMEOUT_MS = 10_000;

export interface OwnerForwarding {
  /** The owner's INTERNAL_URL (or PUBLIC_URL) when another live node owns the interview; undefined: act here. Throws when Redis cannot tell. */
  ownerUrlOf: (interviewId: string) => Promise<string | undefined>;
  /** Whether this node records the interview now: it acts even when Redis cannot say who owns it. */
  recordsHere: (interviewId: string) => boolean;
  nodeId: string;
  logger: Logger;
}

/**
 * Sends an admin action on an interview to the node that owns it (cluster mode), with the caller's
 * own admin token (the cluster shares one, in the database), and relays the owner's answer. True
 * when the answer was sent; false when this node should act itself: no other owner, the request was
 * forwarded to it already, or the owner answered 5xx (it is shutting down or broken; the database's
 * compare-and-set keeps two nodes from ending one interview twice). An owner that cannot be reached,
 * or a Redis that cannot say who owns it, gets 503 (retry) unless this node records the interview:
 * an end stored here would not stop the recording elsewhere.
 */
export async function forwardToOwner(request: FastifyRequest, reply: FastifyReply, interviewId: string, forwarding: OwnerForwarding | undefined): Promise<boolean> {
  if (!forwarding || request.headers[FORWARDED_HEADER] !== undefined) return false;
  let ownerUrl: string | undefined;
  try {
    ownerUrl = await forwarding.ownerUrlOf(interviewId);
  } catch (error) {
    if (forwarding.recordsHere(interviewId)) return false;
    forwarding.logger.warn({ err: error, interviewId }, "could not look up the interview's owner (Redis)");
    throw new AppError('unavailable', "the cluster cannot tell which node runs this interview right now (Redis unreachable); try again shortly");
  }
  if (!ownerUrl) return false;
  const hasBody = request.body !== undefined && request.body !== null;
  try {
    const response = await fetch(`${ownerUrl}${request.url}`, {
      method: request.method,
      headers: {
        authorization: request.headers.authorization ?? '',
        [FORWARDED_HEADER]: forwarding.nodeId,
        ...(hasBody ? { 'content-type': 'application/json' } : {}),
      },
      ...(hasBody ? { body: JSON.stringify(request.body) } : {}),
      signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
    });
    // The owner is shutting down or broken: this node acts (the outcome is stored all the same).
    if (response.status >= 500) {
      forwarding.logger.warn({ interviewId, ownerUrl, status: response.status }, "the interview's owner failed the admin request; acting here");
      return false;
    }
    const text = await response.text();
    void reply.code(response.status).header('content-type', response.headers.get('content-type') ?? 'application/json').send(text);
    return true;
  } catch (error) {
    // Its heartbeat is fresh (Redis named it), so it is alive as far as the cluster knows: acting
    // here would store an end its recording never sees (a wrong INTERNAL_URL, a partition). Once a
    // dead owner's heartbeat runs out (2 s) the lookup names nobody and this node acts.
    forwarding.logger.warn({ err: error, interviewId, ownerUrl }, "could not reach the interview's owner; answered 503");
    throw new AppError('unavailable', `the node that runs this interview cannot be reached from this one (${ownerUrl}: check its INTERNAL_URL); try again shortly`);
  }
}
