// Entry point of `npm start`: validate configuration, start the service, print how to use it,
// and shut down gracefully on SIGTERM/SIGINT.
import { ConfigError, loadConfig } from '../config/loadConfig.ts';
import { createLogger } from './logging.ts';
import { Service } from './Service.ts';

let config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}

const service = await Service.create(config, { logger: createLogger(config.logLevel, { pretty: process.stdout.isTTY === true }) });
const { logger } = service;

// A generated token is shown once, on the start that made it; a configured one never is (it
// came from the operator, and console output ends up in log collectors).
const tokenForCurl = service.adminTokenGenerated ? service.adminToken : '$ADMIN_TOKEN';
const curl = `curl -s -X POST ${config.publicUrl}/api/interviews -H "Authorization: Bearer ${tokenForCurl}" -H 'Content-Type: application/json' -d '{"durationSeconds": 600, "candidateName": "Ada"}'`;
const tokenLine = service.adminTokenGenerated
  ? `admin token (generated now, stored in DATA_DIR/secrets.json; shown this once): ${service.adminToken}`
  : service.adminTokenConfigured
    ? 'admin token: the configured ADMIN_TOKEN'
    : 'admin token: the one generated on the first start (in DATA_DIR/secrets.json)';
process.stdout.write(['', `interview-ingest is listening on ${config.publicUrl}`, tokenLine, 'create an interview:', `  ${curl}`, ''].join('\n') + '\n');

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  const forced = setTimeout(() => {
    logger.error({ step: service.closingStep }, `shutdown took too long (stuck at: ${service.closingStep ?? 'unknown'}); exiting`);
    process.exit(1);
  }, 15_000);
  forced.unref();
  try {
    await service.close();
  } finally {
    process.exit(0);
  }
}
// One stray rejected promise must not take every live interview down with the process: log it
// loudly and keep serving (crash recovery exists for real crashes, not for this).
process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
