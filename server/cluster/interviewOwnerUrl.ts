import type { Logger } from 'pino';
import type { InterviewLeases } from './InterviewLeases.ts';
import type { NodeRegistry } from './NodeRegistry.ts';

/**
 * Where an interview's pages belong: the PUBLIC_URL of the live node that holds its lease, when
 * that is another node; undefined when this node owns it, nobody does (it is not live yet, or its
 * owner died), or Redis cannot tell — the page is then served here, as on a single node.
 */
export function interviewOwnerUrl(options: { leases: InterviewLeases; nodes: NodeRegistry; logger: Logger }): (interviewId: string) => Promise<string | undefined> {
  const { logger } = options;
  const lookUp = interviewOwnerLookup(options);
  return async (interviewId) => {
    try {
      return await lookUp(interviewId);
    } catch (error) {
      logger.warn({ err: error, interviewId }, "could not look up the interview's owner; serving the page here");
      return undefined;
    }
  };
}

/** As `interviewOwnerUrl`, but a Redis that cannot tell throws (the admin API must not guess: an end acted on by the wrong node stops nothing). */
export function interviewOwnerLookup(options: { leases: InterviewLeases; nodes: NodeRegistry }): (interviewId: string) => Promise<string | undefined> {
  const { leases, nodes } = options;
  return async (interviewId) => {
    const owner = await leases.ownerOf(interviewId);
    if (!owner || owner === leases.nodeId) return undefined;
    return (await nodes.node(owner))?.publicUrl;
  };
}
