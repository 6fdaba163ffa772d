/**
 * Which node acts for an interview. On one node, always this one. In a cluster only the holder of
 * the interview's lease fires its timer and delivers its files, so two nodes never both end or
 * upload one interview (server/cluster/LeasedOwnership.ts).
 */
export interface SessionOwnership {
  /** Takes the interview for this node: true when this node owns it now, false when another does. */
  claim(interviewId: string): Promise<boolean>;
  /** This node is done with the interview (completed or failed here): another may take it at once. */
  release(interviewId: string): Promise<void>;
}

/** A single node owns every interview it has. */
export const soleOwnership: SessionOwnership = {
  claim: async () => true,
  release: async () => {},
};
