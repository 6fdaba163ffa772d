// `npm run example`: interview-ingest on http://127.0.0.1:3000 and the example host app on
// http://localhost:3001 — two origins, as in production — wired together: the service allows the
// app's origin (EMBED_ORIGINS) and sends it webhooks. With INGEST_URL, INGEST_ADMIN_TOKEN and
// INGEST_WEBHOOK_SECRET set, only the app starts, against that service.
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../config/loadConfig.ts';
import { createLogger } from '../../server/logging.ts';
import { Service } from '../../server/Service.ts';
import { startHostApp } from './HostApp.ts';

const ingestPort = Number(process.env.PORT ?? 3000);
const appPort = Number(process.env.HOST_APP_PORT ?? ingestPort + 1);
const appOrigin = `http://localhost:${appPort}`;

let service: Service | undefined;
let ingestUrl = process.env.INGEST_URL;
let adminToken = process.env.INGEST_ADMIN_TOKEN;
let webhookSecret = process.env.INGEST_WEBHOOK_SECRET;
if (!ingestUrl || !adminToken || !webhookSecret) {
  adminToken = randomBytes(24).toString('base64url');
  webhookSecret = `whsec_${randomBytes(32).toString('base64')}`;
  ingestUrl = `http://127.0.0.1:${ingestPort}`;
  const config = loadConfig({
    ...process.env,
    PORT: String(ingestPort),
    PUBLIC_URL: ingestUrl,
    DATA_DIR: process.env.DATA_DIR ?? './data/example',
    ADMIN_TOKEN: adminToken,
    EMBED_ORIGINS: appOrigin,
    WEBHOOK_URL: `${appOrigin}/webhooks/interview-ingest`,
    WEBHOOK_SECRET: webhookSecret,
  });
  service = await Service.create(config, { logger: createLogger(config.logLevel, { pretty: process.stdout.isTTY === true }) });
}

const app = await startHostApp({ ingestUrl, adminToken, webhookSecret, port: appPort });
const demo = await app.createInterview({ id: `demo-${Date.now().toString(36)}`, candidateName: 'Ada', durationSeconds: 120 });
process.stdout.write(
  [
    '',
    `interview-ingest: ${ingestUrl}`,
    `example host app: ${app.url}`,
    `  a 2-minute interview, on the SDK:            ${app.url}/interview/${demo.id}/`,
    `  the same, with the old recorder's names:    ${app.url}/interview/${demo.id}/legacy/`,
    `  interview-ingest's own page, framed:         ${app.url}/interview/${demo.id}/iframe/`,
    `  more: curl -X POST ${app.url}/api/interviews -H 'content-type: application/json' -d '{"id":"my-1","candidateName":"Grace","durationSeconds":300}'`,
    '',
  ].join('\n'),
);

async function stop(): Promise<void> {
  await app.close();
  await service?.close();
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
