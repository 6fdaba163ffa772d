import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';

/** How long the pages' new owner is looked for: a lapsed lease is taken by another node within seconds. */
const OWNER_WAIT_MS = 10_000;
const OWNER_POLL_MS = 100;

export interface PagesFollowNewOwnerOptions {
  /** The PUBLIC_URL of the node that owns the interview, when that is another node (interviewOwnerLookup). */
  ownerUrlOf: (interviewId: string) => Promise<string | undefined>;
  /** Tells the interview's pages on this node to reconnect to `ownerUrl` (the handover's message). */
  moved: (interviewId: string, ownerUrl: string) => void;
  logger: Logger;
  waitMs?: number;
}

/**
 * When this node lost a live interview's lease (another node took it, or it lapsed while Redis was
 * away and another node took it over), its pages here get what a handover sends them: the new
 * owner's URL, as soon as one holds the lease. Nobody taking it in time leaves the pages to the
 * usual path (their connection drops, and they look for the interview on the other nodes).
 */
export function pagesFollowNewOwner(options: PagesFollowNewOwnerOptions): (interviewId: string) => Promise<void> {
  const { logger } = options;
  return async (interviewId) => {
    const startedAt = Date.now();
    const deadline = startedAt + (options.waitMs ?? OWNER_WAIT_MS);
    while (Date.now() < deadline) {
      try {
        const url = await options.ownerUrlOf(interviewId);
        if (url) {
          logger.info({ interviewId, ownerUrl: url, ms: Date.now() - startedAt }, 'lost the interview to another node; its pages follow it there');
          options.moved(interviewId, url);
          return;
        }
      } catch (error) {
        logger.warn({ err: error, interviewId }, 'could not look up the interview\'s new owner; trying again');
      }
      await delay(OWNER_POLL_MS);
    }
    logger.warn({ interviewId }, 'lost the interview, and no other node took it in time; its pages find it by themselves');
  };
}
