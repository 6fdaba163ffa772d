import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { InterviewLeases } from './InterviewLeases.ts';
import type { NodeRegistry } from './NodeRegistry.ts';

/** How long a leaving node waits for other nodes to take its interviews (they scan every 0.5 s). */
const HANDOVER_WAIT_MS = 5000;
const HANDOVER_POLL_MS = 50;

export interface HandoverOptions {
  leases: InterviewLeases;
  nodes: NodeRegistry;
  /** Tells the interview's pages on this node to reconnect to its new owner. */
  moved: (interviewId: string, ownerUrl: string) => void;
  logger: Logger;
  waitMs?: number;
}

/**
 * A graceful shutdown in cluster mode (SIGTERM, a rolling restart), once this node's recordings
 * have stopped and their last bytes are in the journal: every live interview's lease is released,
 * so the other nodes take them at once (OrphanTakeover, which skips a draining node); as each is
 * taken, its pages here are told to reconnect to the new owner, while this node still answers.
 * An interview nobody takes in time is left to the usual path: its pages, cut off when this node
 * closes, look for it on the other nodes.
 */
export async function handOverInterviews(options: HandoverOptions): Promise<void> {
  const { leases, nodes, logger } = options;
  const interviewIds = leases.held.map((lease) => lease.interviewId);
  // The others must see this node draining before they look at the released interviews: otherwise
  // one may be assigned back to this node, and taken only after the fallback delay.
  await nodes.beatNow();
  await leases.close({ release: true });
  if (interviewIds.length === 0) return;
  // Nobody to take them (the last node of the cluster stops): they stay live for the next start.
  if (!(await anotherNodeIsOpen(nodes))) {
    logger.info({ interviews: interviewIds.length }, 'shutting down with no other node up: the live interviews wait for the next start');
    return;
  }
  const releasedAt = Date.now();
  logger.info({ interviews: interviewIds.length }, 'shutting down: released the live interviews for other nodes to take');
  const waiting = new Set(interviewIds);
  const deadline = releasedAt + (options.waitMs ?? HANDOVER_WAIT_MS);
  while (waiting.size > 0 && Date.now() < deadline) {
    const ids = [...waiting];
    try {
      const owners = await leases.ownersOf(ids);
      for (const [index, owner] of owners.entries()) {
        if (owner === undefined || owner === leases.nodeId) continue;
        const url = (await nodes.node(owner))?.publicUrl;
        if (!url) continue;
        waiting.delete(ids[index]!);
        logger.info({ interviewId: ids[index], owner, ms: Date.now() - releasedAt }, 'handed the interview over');
        options.moved(ids[index]!, url);
      }
    } catch (error) {
      logger.warn({ err: error }, 'could not look up who took the interviews over; trying again');
    }
    if (waiting.size > 0) await delay(HANDOVER_POLL_MS);
  }
  if (waiting.size > 0) logger.warn({ interviewIds: [...waiting] }, 'no other node took these interviews over in time; leaving them to be taken later');
}

/** Whether a node other than this one is up and not draining (Redis down: assume none, do not wait). */
async function anotherNodeIsOpen(nodes: NodeRegistry): Promise<boolean> {
  try {
    return (await nodes.nodes()).some((node) => node.nodeId !== nodes.nodeId && !node.draining);
  } catch {
    return false;
  }
}
