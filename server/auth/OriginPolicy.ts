import type { Logger } from 'pino';

export interface OriginPolicyOptions {
  /** PUBLIC_URL: its origin is this service's own. */
  publicUrl: string;
  /** EMBED_ORIGINS, in the form browsers send (see config/schema.ts). */
  embedOrigins: readonly string[];
  /**
   * Cluster mode: the live nodes' PUBLIC_URLs. A page loaded from one node follows its interview
   * to another, so every node's origin is allowed; a node seen once stays allowed after it goes
   * (its pages are the ones that move).
   */
  clusterUrls?: (() => Promise<string[]>) | undefined;
  logger?: Logger;
}

/** How often the cluster's nodes are looked at for their origins (besides on an unknown Origin). */
const CLUSTER_REFRESH_MS = 2000;

/**
 * Which browser origins may use this service from their pages (socket.io's CORS and handshake,
 * the /session routes): EMBED_ORIGINS, this service's own origin (PUBLIC_URL's, and a request
 * whose Origin names the Host it was sent to), and in a cluster every node's. A request without
 * an Origin header is not a browser's cross-origin request: the policy leaves it to the tokens.
 */
export class OriginPolicy {
  readonly #static: ReadonlySet<string>;
  readonly #embed: readonly string[];
  readonly #clusterUrls: (() => Promise<string[]>) | undefined;
  readonly #logger: Logger | undefined;
  /** Every cluster node origin seen so far. */
  readonly #clusterOrigins = new Set<string>();
  #refreshing: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: OriginPolicyOptions) {
    this.#embed = [...options.embedOrigins];
    this.#static = new Set([new URL(options.publicUrl).origin, ...options.embedOrigins]);
    this.#clusterUrls = options.clusterUrls;
    this.#logger = options.logger;
    if (this.#clusterUrls) {
      void this.#refresh();
      this.#timer = setInterval(() => void this.#refresh(), CLUSTER_REFRESH_MS);
      this.#timer.unref();
    }
  }

  /** EMBED_ORIGINS: the host apps that may frame the candidate and end pages. */
  get embedOrigins(): readonly string[] {
    return this.#embed;
  }

  /** Whether `origin` is PUBLIC_URL's or one of EMBED_ORIGINS (where a returnUrl may lead). */
  isConfigured(origin: string): boolean {
    return this.#static.has(origin);
  }

  /**
   * Whether a request carrying `origin` (its Origin header; undefined when it has none) and sent
   * to `host` (its Host header) may be served to that origin's page.
   */
  async allows(origin: string | undefined, host: string | undefined): Promise<boolean> {
    if (origin === undefined) return true;
    if (this.#allowedNow(origin, host)) return true;
    if (!this.#clusterUrls) return false;
    await this.#refresh();
    return this.#clusterOrigins.has(origin);
  }

  #allowedNow(origin: string, host: string | undefined): boolean {
    if (this.#static.has(origin) || this.#clusterOrigins.has(origin)) return true;
    // Same-origin: the page was served by the host it connects to (e.g. behind a proxy whose
    // public name is not PUBLIC_URL's). `null` and malformed origins are never same-origin.
    if (!host) return false;
    try {
      return new URL(origin).host === host.toLowerCase();
    } catch {
      return false;
    }
  }

  #refresh(): Promise<void> {
    const clusterUrls = this.#clusterUrls;
    if (!clusterUrls) return Promise.resolve();
    this.#refreshing ??= clusterUrls()
      .then((urls) => {
        for (const url of urls) {
          try {
            const { origin, protocol } = new URL(url);
            if (protocol === 'http:' || protocol === 'https:') this.#clusterOrigins.add(origin);
          } catch {
            // Not a URL: left out.
          }
        }
      })
      .catch((error: unknown) => this.#logger?.warn({ err: error }, "could not list the cluster's nodes for the origin policy"))
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
