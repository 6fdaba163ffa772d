// The service as a child process, like server/main.ts, but with S3 parts of TEST_PART_SIZE_BYTES:
// S3 refuses parts below 5 MiB (so S3_PART_SIZE_MB does too), s3rver does not, and a test that
// counts which parts an upload resumes needs several parts out of a short recording.
import { loadConfig } from '../../config/loadConfig.ts';
import { createLogger } from '../../server/logging.ts';
import { Service } from '../../server/Service.ts';

const config = loadConfig();
const partSizeBytes = Number(process.env.TEST_PART_SIZE_BYTES);
if (!Number.isInteger(partSizeBytes) || partSizeBytes <= 0) throw new Error('TEST_PART_SIZE_BYTES must be a positive integer');
config.s3.partSizeBytes = partSizeBytes;
const service = await Service.create(config, { logger: createLogger(config.logLevel, { pretty: false }) });
// ServiceProcess.start waits for this line, as main.ts prints it.
process.stdout.write(`interview-ingest is listening on ${service.config.publicUrl}\n`);
// The tests SIGKILL it; a SIGTERM still gets the graceful stop.
process.on('SIGTERM', () => void service.close().finally(() => process.exit(0)));
