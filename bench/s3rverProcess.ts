// The object store for the benchmark, in its own process so the service's CPU does not include
// it (with no S3_ENDPOINT the service embeds the same server in-process). Prints {"endpoint"}.
import { EmbeddedS3Server } from '../server/storage/EmbeddedS3Server.ts';

const directory = process.argv[2];
if (!directory) throw new Error('usage: s3rverProcess.ts DIRECTORY');
const server = await EmbeddedS3Server.start({ directory, bucket: 'interviews' });
process.stdout.write(`${JSON.stringify({ endpoint: server.endpoint })}\n`);
const stop = () => void server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
