import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

export interface PageRoutesOptions {
  /** The client folder: HTML and CSS under pages/, the esbuild bundles under dist/. */
  clientDir?: string;
  /** Where recordings are played from when not from this origin (S3_PUBLIC_BASE_URL's origin). */
  mediaOrigin?: string | undefined;
  /** Cluster mode: the origin of the node that owns a live interview, when it is another node. */
  ownerUrlOf?: ((interviewId: string) => Promise<string | undefined>) | undefined;
  /**
   * Cluster mode: the origins of the other nodes, which the pages may connect to (their signalling
   * follows the interview to a new owner when their node goes away).
   */
  clusterOrigins?: (() => Promise<string[]>) | undefined;
  /**
   * EMBED_ORIGINS: the host apps that may frame the candidate and end pages (`frame-ancestors
   * 'self'` and these). Empty: no page may be framed. The proctor, review and admin pages never may.
   */
  frameAncestors?: readonly string[] | undefined;
}

const defaultClientDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'client');
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// The bundles, their source maps (the build links them: <page>.js.map) and the stylesheets.
const assetName = /^[a-z][\w-]*\.(js|css|js\.map)$/i;
const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

// Pages carry role tokens in the fragment: no Referer may leak the page, only the configured host
// apps may frame the candidate's pages (nothing may frame the others), and scripts come only
// from this origin.
function pageHeaders(mediaOrigin: string | undefined, frameAncestors: readonly string[], clusterOrigins: readonly string[] = []): Record<string, string> {
  // Each node's origin as HTTP (socket.io's polling) and as WebSocket: not every browser lets an
  // http: source cover ws:.
  const connect = clusterOrigins.flatMap((origin) => [origin, origin.replace(/^http/, 'ws')]);
  const ancestors = frameAncestors.length > 0 ? `'self' ${frameAncestors.join(' ')}` : "'none'";
  return {
    'cache-control': 'no-cache',
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'content-security-policy': `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob: mediastream:${mediaOrigin ? ` ${mediaOrigin}` : ''}; connect-src 'self'${connect.map((origin) => ` ${origin}`).join('')}; frame-ancestors ${ancestors}; base-uri 'none'; form-action 'self'`,
  };
}

const exists = (file: string): Promise<boolean> => fs.access(file).then(
  () => true,
  () => false,
);

/** Node origins safe to put in a header (a URL's origin has no spaces, quotes or semicolons). */
function originsOf(urls: readonly string[]): string[] {
  const origins = new Set<string>();
  for (const url of urls) {
    try {
      const { origin, protocol } = new URL(url);
      if (protocol === 'http:' || protocol === 'https:') origins.add(origin);
    } catch {
      // Not a URL: left out.
    }
  }
  return [...origins];
}

/** The candidate, proctor, admin and end pages, and the client bundles they load. */
export function registerPageRoutes(app: FastifyInstance, options: PageRoutesOptions = {}): void {
  const clientDir = options.clientDir ?? defaultClientDir;
  const distDir = path.join(clientDir, 'dist');
  const headers = pageHeaders(options.mediaOrigin, []);
  // The candidate's pages (the live page and the end page) may be framed by the host apps.
  const frameAncestors = options.frameAncestors ?? [];
  const framableHeaders = pageHeaders(options.mediaOrigin, frameAncestors);
  const { ownerUrlOf, clusterOrigins } = options;

  async function sendFile(reply: FastifyReply, file: string, pageHeaderSet = headers): Promise<FastifyReply> {
    let body: Buffer;
    try {
      body = await fs.readFile(file);
    } catch {
      // A bundle missing from dist/ is the operator's to fix only when nothing was built (no build
      // metafile); with a build there, it is a name the build does not make.
      const notBuilt = file.startsWith(distDir + path.sep) && !(await exists(path.join(distDir, 'build-meta.json')));
      return reply
        .code(notBuilt ? 503 : 404)
        .type('text/plain; charset=utf-8')
        .send(notBuilt ? 'The client is not built: run node scripts/build-client.mjs' : 'Not found');
    }
    return reply.headers(pageHeaderSet).type(contentTypes[path.extname(file)] ?? 'application/octet-stream').send(body);
  }

  /** The live pages' headers: in a cluster they may also connect to the other nodes. */
  async function clusterHeaders(framable: boolean): Promise<Record<string, string>> {
    const base = framable ? framableHeaders : headers;
    if (!clusterOrigins) return base;
    try {
      return pageHeaders(options.mediaOrigin, framable ? frameAncestors : [], originsOf(await clusterOrigins()));
    } catch {
      // Redis cannot list the nodes now: the page works with this node alone.
      return base;
    }
  }

  const page = (name: string) => path.join(clientDir, 'pages', `${name}.html`);
  const withInterviewId = (name: string, options: { followOwner?: boolean; framable?: boolean } = {}) => async (request: { params: unknown; url: string }, reply: FastifyReply) => {
    const { id } = request.params as { id: string };
    if (!uuid.test(id)) return reply.code(404).type('text/plain; charset=utf-8').send('No such interview');
    // A live interview's pages work through the node that owns it: sent there (the browser keeps
    // the #token fragment across the redirect, and no token is in the URL this node sees).
    const ownerUrl = options.followOwner ? await ownerUrlOf?.(id) : undefined;
    if (ownerUrl) return reply.headers({ 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' }).redirect(`${ownerUrl}${request.url}`, 307);
    const framable = options.framable ?? false;
    return sendFile(reply, page(name), options.followOwner ? await clusterHeaders(framable) : framable ? framableHeaders : headers);
  };

  app.get('/', async (_request, reply) => sendFile(reply, page('index')));
  app.get('/admin', async (_request, reply) => sendFile(reply, page('admin')));
  app.get('/interview/:id', withInterviewId('candidate', { followOwner: true, framable: true }));
  app.get('/interview/end/:id', withInterviewId('ended', { framable: true }));
  app.get('/proctor/:id', withInterviewId('proctor', { followOwner: true }));
  app.get('/review/:id', withInterviewId('review'));
  app.get('/assets/:name', async (request, reply) => {
    const { name } = request.params as { name: string };
    if (!assetName.test(name)) return reply.code(404).type('text/plain; charset=utf-8').send('Not found');
    // Stylesheets are hand-written and live with the pages; scripts are built.
    return sendFile(reply, name.endsWith('.css') ? path.join(clientDir, 'pages', name) : path.join(distDir, name));
  });
}
