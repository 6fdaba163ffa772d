import type { IncomingMessage } from 'node:http';
import { clientAddress, type ProxyTrust } from '../http/clientAddress.ts';

export interface ConnectionLimitSettings {
  /** Concurrent proctor connections one interview accepts (MAX_PROCTORS_PER_INTERVIEW). */
  proctorsPerInterview: number;
  /** Concurrent socket.io connections one client address may hold (MAX_CONNECTIONS_PER_IP). */
  connectionsPerIp: number;
}

/**
 * Bounds what one link or one address can hold, so a leaked link or a flood cannot take the media
 * ports and file descriptors every other interview needs. Counts live connections per address
 * (an interview's proctor seats are counted by its session); each reservation is released
 * exactly once, when its connection goes.
 */
export class ConnectionLimits {
  readonly settings: ConnectionLimitSettings;
  readonly #perIp = new Map<string, number>();
  readonly #trust: ProxyTrust;

  /** `trust`: the reverse proxies whose X-Forwarded-For names the client (none: the TCP peer is the client). */
  constructor(settings: ConnectionLimitSettings, trust: ProxyTrust = () => false) {
    this.settings = settings;
    this.#trust = trust;
  }

  /** The client's address for this request (behind a trusted proxy, the one it forwarded), as counted and logged. */
  addressOf(request: IncomingMessage): string {
    return clientAddress(request, this.#trust);
  }

  /** For socket.io's `allowRequest`: a new transport-level connection from this request's address? */
  admitsAddress(request: IncomingMessage): boolean {
    return (this.#perIp.get(this.addressOf(request)) ?? 0) < this.settings.connectionsPerIp;
  }

  /** Counts a transport-level connection of this address until `release` is called. */
  holdAddress(request: IncomingMessage): () => void {
    return this.#hold(this.#perIp, this.addressOf(request), Number.POSITIVE_INFINITY) ?? (() => undefined);
  }

  #hold(counts: Map<string, number>, key: string, max: number): (() => void) | undefined {
    const held = counts.get(key) ?? 0;
    if (held >= max) return undefined;
    counts.set(key, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (counts.get(key) ?? 1) - 1;
      if (left <= 0) counts.delete(key);
      else counts.set(key, left);
    };
  }
}

