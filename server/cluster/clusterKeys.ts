/**
 * The names of this service's keys in Redis, in one place. All start with one prefix: the Redis
 * may be shared with other software (and socket.io's adapter keeps its own `socket.io` stream).
 */
const PREFIX = 'interview-ingest';

export const clusterKeys = {
  /** A node's heartbeat (JSON, expires unless renewed). */
  node: (nodeId: string): string => `${PREFIX}:node:${nodeId}`,
  /** The set of node ids that have sent a heartbeat; the ones whose heartbeat expired are pruned on read. */
  nodes: `${PREFIX}:nodes`,
  /** Which node owns a live interview (its holder token, expires unless renewed). */
  lease: (interviewId: string): string => `${PREFIX}:lease:interview:${interviewId}`,
  /** Which node sweeps stale multipart uploads this interval (SET NX PX for the interval, never released). */
  staleUploadSweep: `${PREFIX}:sweep:stale-uploads`,
  /** The socket.io adapter's stream and channel prefix. */
  socketIo: `${PREFIX}:socket.io`,
};
