import dns from 'node:dns/promises';

/** How the candidate's media reaches the server, as the selected ICE tuple of its send transport shows it. */
export type MediaPath = 'udp' | 'tcp' | 'turn-udp' | 'turn-tcp';

/**
 * The path of a selected tuple: its protocol, and relayed when the remote address is one of the
 * TURN servers' (a relay candidate's packets come from the TURN server). With TURN over TCP/TLS the
 * server sees the relay's UDP: relayed all the same.
 */
export function mediaPathOf(tuple: { protocol: string; remoteIp?: string | undefined }, turnAddresses: ReadonlySet<string>): MediaPath {
  const protocol = tuple.protocol === 'tcp' ? 'tcp' : 'udp';
  const relayed = tuple.remoteIp !== undefined && turnAddresses.has(tuple.remoteIp);
  return relayed ? `turn-${protocol}` : protocol;
}

const resolved = new Map<string, Promise<Set<string>>>();

/** The addresses the TURN_URLS hosts resolve to (looked up once per list; a failed lookup counts as none). */
export function turnAddressesOf(urls: readonly string[]): Promise<Set<string>> {
  const key = urls.join(',');
  let addresses = resolved.get(key);
  if (!addresses) {
    addresses = (async () => {
      const found = new Set<string>();
      for (const url of urls) {
        // turn:host:port?transport=udp, turns:[v6]:port
        const host = /^turns?:(\[[^\]]+\]|[^:?]+)/.exec(url)?.[1]?.replace(/^\[|\]$/g, '');
        if (!host) continue;
        for (const { address } of await dns.lookup(host, { all: true }).catch(() => [])) found.add(address);
      }
      return found;
    })();
    resolved.set(key, addresses);
  }
  return addresses;
}
