// moto's S3 server (moto_server, installed on these machines; in memory) as a stricter S3 target
// than s3rver: it implements ListMultipartUploads and AbortMultipartUpload, which s3rver answers
// with 501/405. It binds port 0 itself and prints the port it got ("Running on http://…"), so no
// port is picked before it listens.
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { waitFor } from './testConfig.ts';

export interface MotoServer {
  endpoint: string;
  /** S3_* variables for a service using it (any credentials: moto checks no signature). */
  env: (bucket?: string) => Record<string, string>;
  createBucket: (bucket: string) => Promise<void>;
  stop: () => Promise<void>;
}

export async function startMoto(): Promise<MotoServer> {
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  let exited = false;
  // 'exit', or 'error' alone when it never started.
  const gone = new Promise<void>((resolve) => {
    child.once('exit', () => ((exited = true), resolve()));
    child.once('error', () => resolve());
  });
  const onData = (chunk: Buffer) => output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  child.once('error', (error) => {
    exited = true;
    output.push(`spawn failed: ${error.message}${(error as NodeJS.ErrnoException).code === 'ENOENT' ? ' (moto_server is not installed: moto[server] 5.2.1 from PyPI; Debian has no package)' : ''}`);
  });
  const stop = async () => {
    if (!exited) child.kill('SIGTERM');
    await gone;
  };
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  let endpoint: string;
  try {
    endpoint = await waitFor(
      () => {
        if (exited) throw new Error('moto_server exited while starting');
        return output.map((line) => /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1]).find(Boolean);
      },
      { timeoutMs: 20_000, what: 'moto_server to print its address' },
    );
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${output.slice(-20).join('\n')}`);
  }
  return {
    endpoint,
    env: (bucket = 'interviews') => ({ S3_ENDPOINT: endpoint, S3_REGION: 'us-east-1', S3_BUCKET: bucket, S3_ACCESS_KEY_ID: 'moto-key', S3_SECRET_ACCESS_KEY: 'moto-secret' }),
    async createBucket(bucket) {
      const client = new S3Client({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'moto-key', secretAccessKey: 'moto-secret' }, forcePathStyle: true });
      try {
        await client.send(new CreateBucketCommand({ Bucket: bucket }));
      } finally {
        client.destroy();
      }
    },
    async stop() {
      process.removeListener('exit', kill);
      await stop();
    },
  };
}
