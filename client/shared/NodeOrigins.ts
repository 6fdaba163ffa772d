/**
 * The nodes a page's signalling may go to (cluster mode): its own origin, the nodes its last join
 * named, and any owner a node pointed it to. `current` is where the socket connects; when that node
 * cannot be reached, `next()` names another to ask, in turn, so a page whose node died finds a live
 * one, which answers for the interview's owner. On a single node there is only the page's origin.
 */
export class NodeOrigins {
  readonly #known: string[];
  #current: string;

  constructor(pageOrigin: string) {
    this.#known = [pageOrigin];
    this.#current = pageOrigin;
  }

  get current(): string {
    return this.#current;
  }

  /** Adds the nodes of a join's list (URLs; only their origins are kept). */
  know(urls: readonly string[]): void {
    for (const url of urls) {
      const origin = originOf(url);
      if (origin && !this.#known.includes(origin)) this.#known.push(origin);
    }
  }

  /** Connects to `url`'s origin from now on; false when it is not a URL or already the current one. */
  moveTo(url: string): boolean {
    const origin = originOf(url);
    if (!origin || origin === this.#current) return false;
    this.know([origin]);
    this.#current = origin;
    return true;
  }

  /** The known node after the current one (wrapping), or undefined when there is no other. */
  next(): string | undefined {
    if (this.#known.length < 2) return undefined;
    const index = this.#known.indexOf(this.#current);
    return this.#known[(index + 1) % this.#known.length];
  }
}

function originOf(url: string): string | undefined {
  try {
    const { origin, protocol } = new URL(url);
    return protocol === 'http:' || protocol === 'https:' ? origin : undefined;
  } catch {
    return undefined;
  }
}
