/**
 * Which node acts for an interview. On one node, always this one. In a cluster only the holder of
 * the interview's lease fires its timer and delivers its files, so two nodes never both end or
 * upload one interview (server/cluster/LeasedOwnership.ts). The session holds its claim.
 */
export interface SessionOwnership {
  /** Takes the interview for this node: its claim while this node owns it, undefined when another does. */
  claim(interviewId: string): Promise<OwnershipClaim | undefined>;
}

/** This node's hold on one interview, held by its session. */
export interface OwnershipClaim {
  /** This node is done with the interview (completed or failed here): another may take it at once. */
  release(): Promise<void>;
  /**
   * Calls `listener` once if the claim is lost: `taken`, another node owns the interview from then
   * on; `lapsed`, it ran out while the cluster could not be asked (nobody is known to own it).
   */
  onLost(listener: (reason: 'taken' | 'lapsed') => void): void;
}

const heldForGood: OwnershipClaim = { release: async () => {}, onLost: () => {} };

/** A single node owns every interview it has. */
export const soleOwnership: SessionOwnership = {
  claim: async () => heldForGood,
};
