import { AppError } from '../errors.ts';
import type { NodeHeartbeat } from './NodeRegistry.ts';

/**
 * CPU shares closer than this count as equal: each is a few-second mean sampled at its own moment,
 * and nodes sharing one machine measure the same load. Among those, the fewest live sessions wins.
 */
const CPU_SHARE_TIE = 0.05;

/** The share of a node's cores in use: the measured load, or the reservations when they are more. */
function cpuShareOf(node: NodeHeartbeat): number {
  return Math.max(node.busyCores, node.reservedCores) / Math.max(1, node.cores);
}

/**
 * The node a new interview goes to: the least-loaded live node that is not draining and whose own
 * admission takes one more (measured CPU and reservations under its threshold, as `Admission`
 * decides). Ties go to the fewest live sessions, then the node id, so the choice is deterministic.
 * Throws at_capacity (503) when no node has room.
 */
export function chooseNode(nodes: readonly NodeHeartbeat[]): NodeHeartbeat {
  const open = nodes.filter((node) => !node.draining && node.hasRoom);
  if (open.length === 0) {
    const draining = nodes.filter((node) => node.draining).length;
    const why = nodes.length === 0 ? 'no node of the cluster is up' : `all ${nodes.length} nodes are full${draining > 0 ? ` or draining (${draining} draining)` : ''}`;
    throw new AppError('at_capacity', `at capacity: ${why}; try again later`);
  }
  const least = Math.min(...open.map(cpuShareOf));
  const [chosen] = open
    .filter((node) => cpuShareOf(node) <= least + CPU_SHARE_TIE)
    .sort((a, b) => a.liveSessions - b.liveSessions || a.nodeId.localeCompare(b.nodeId));
  return chosen!;
}

/**
 * Picks the node for a new interview among the live nodes of the registry (see `chooseNode`).
 * Without Redis no node can be chosen: 503 unavailable, which a client retries (Redis reconnects
 * within about a second).
 */
export async function placeNewInterview(registry: { nodes(): Promise<NodeHeartbeat[]> }): Promise<NodeHeartbeat> {
  let nodes: NodeHeartbeat[];
  try {
    nodes = await registry.nodes();
  } catch (error) {
    throw new AppError('unavailable', `the cluster's nodes cannot be listed right now (Redis: ${error instanceof Error ? error.message : String(error)}); try again shortly`);
  }
  return chooseNode(nodes);
}
