import type { Logger } from 'pino';
import type { InterviewLeases } from './InterviewLeases.ts';
import type { NodeHeartbeat, NodeRegistry } from './NodeRegistry.ts';

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

/** Where a page's signalling connection for an interview goes (see `signalingRouteOf`). */
export type SignalingRoute = { to: 'here' } | { to: 'owner'; url: string } | { to: 'nobody yet' };

/**
 * Where an interview's signalling belongs, asked when a page connects: here when this node owns
 * it; the owner's PUBLIC_URL when another live node does; `nobody yet` when it is live but its
 * owner is gone (dead, its lease lapsing or lapsed) — a node takes it over within seconds and the
 * page asks again. An interview that is not live yet, or a Redis that cannot tell, is served here,
 * as on a single node: media recorded where no lease says otherwise beats media refused.
 */
export function signalingRouteOf(options: {
  leases: InterviewLeases;
  nodes: NodeRegistry;
  isLive: (interviewId: string) => Promise<boolean>;
  logger: Logger;
}): (interviewId: string) => Promise<SignalingRoute> {
  const { leases, nodes, isLive, logger } = options;
  return async (interviewId) => {
    try {
      const owner = await leases.ownerOf(interviewId);
      if (owner === leases.nodeId) return { to: 'here' };
      const url = owner === undefined ? undefined : (await nodes.node(owner))?.publicUrl;
      if (url) return { to: 'owner', url };
      return (await isLive(interviewId)) ? { to: 'nobody yet' } : { to: 'here' };
    } catch (error) {
      logger.warn({ err: error, interviewId }, "could not look up the interview's owner; serving its signalling here");
      return { to: 'here' };
    }
  };
}

/**
 * Where this node sends an admin request for an interview another live node owns: that node's
 * INTERNAL_URL (its PUBLIC_URL when unset). A Redis that cannot tell throws (the admin API must not
 * guess: an end acted on by the wrong node stops nothing).
 */
export function ownerInternalUrlLookup(options: { leases: InterviewLeases; nodes: NodeRegistry }): (interviewId: string) => Promise<string | undefined> {
  return ownerLookup(options, (node) => node.internalUrl ?? node.publicUrl);
}

/** The owner's PUBLIC_URL, as `interviewOwnerUrl`, but a Redis that cannot tell throws. */
export function interviewOwnerLookup(options: { leases: InterviewLeases; nodes: NodeRegistry }): (interviewId: string) => Promise<string | undefined> {
  return ownerLookup(options, (node) => node.publicUrl);
}

function ownerLookup(options: { leases: InterviewLeases; nodes: NodeRegistry }, urlOf: (node: NodeHeartbeat) => string): (interviewId: string) => Promise<string | undefined> {
  const { leases, nodes } = options;
  return async (interviewId) => {
    const owner = await leases.ownerOf(interviewId);
    if (!owner || owner === leases.nodeId) return undefined;
    const node = await nodes.node(owner);
    return node && urlOf(node);
  };
}
