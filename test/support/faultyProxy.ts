import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ForwardedRequest {
  method: string;
  url: URL;
  contentLength: number | undefined;
}

/**
 * An HTTP proxy in front of a real server that answers the first `failFirst` requests itself
 * with `status` (e.g. 503 SlowDown), or drops them, then forwards everything: a store that
 * refuses, then recovers.
 */
export class FaultyProxy {
  requests = 0;
  refused = 0;
  /** Every request passed on to the real server, in arrival order. */
  readonly forwarded: ForwardedRequest[] = [];
  failFirst: number;
  /** Requests this returns true for are held: neither forwarded nor answered (a store that hangs). */
  hold: ((request: ForwardedRequest) => boolean) | undefined;
  /** The requests held so far. */
  readonly held: ForwardedRequest[] = [];

  private constructor(private readonly server: http.Server, readonly url: string, failFirst: number) {
    this.failFirst = failFirst;
  }

  static async start(target: string, options: { failFirst: number; status?: number }): Promise<FaultyProxy> {
    const targetUrl = new URL(target);
    let proxy!: FaultyProxy;
    const server = http.createServer((request, response) => {
      proxy.requests++;
      if (proxy.refused < proxy.failFirst) {
        proxy.refused++;
        request.resume();
        response.writeHead(options.status ?? 503, { 'content-type': 'application/xml' });
        response.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
        return;
      }
      const declaredLength = request.headers['content-length'];
      const seen: ForwardedRequest = {
        method: request.method ?? '',
        url: new URL(request.url ?? '/', target),
        contentLength: declaredLength === undefined ? undefined : Number(declaredLength),
      };
      if (proxy.hold?.(seen)) {
        proxy.held.push(seen);
        request.resume();
        return;
      }
      proxy.forwarded.push(seen);
      const upstream = http.request(
        { host: targetUrl.hostname, port: targetUrl.port, method: request.method, path: request.url, headers: request.headers },
        (upstreamResponse) => {
          response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
          upstreamResponse.pipe(response);
        },
      );
      upstream.on('error', () => response.destroy());
      request.pipe(upstream);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    proxy = new FaultyProxy(server, `http://127.0.0.1:${port}`, options.failFirst);
    return proxy;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
