// Debian's coturn as a real TURN relay for a test, on loopback ports of the test's own slice,
// with REST-API credentials (use-auth-secret). Stopped by pid and its temp dir removed on close.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './testConfig.ts';

export interface TestTurnServer {
  /** turn:127.0.0.1:<port>?transport=udp */
  url: string;
  port: number;
  relayPorts: { min: number; max: number };
  close: () => Promise<void>;
}

export async function startTurnServer(options: { port: number; relayMin: number; relayMax: number; secret: string }): Promise<TestTurnServer> {
  const dir = tempDir('interview-ingest-turn-');
  const turn = spawn(
    'turnserver',
    [
      '-n', // no configuration file: everything is here
      '--listening-ip=127.0.0.1',
      `--listening-port=${options.port}`,
      '--relay-ip=127.0.0.1',
      `--min-port=${options.relayMin}`,
      `--max-port=${options.relayMax}`,
      '--use-auth-secret',
      `--static-auth-secret=${options.secret}`,
      '--realm=interview-ingest.test',
      '--fingerprint',
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      // The media server is on this machine's loopback: coturn refuses such peers by default.
      '--allow-loopback-peers',
      `--userdb=${path.join(dir, 'turndb')}`,
      `--pidfile=${path.join(dir, 'turnserver.pid')}`,
      '--log-file=stdout',
      '--simple-log',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  turn.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  turn.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => turn.once('exit', () => resolve()));
  const close = async () => {
    if (turn.exitCode === null && turn.signalCode === null) {
      turn.kill('SIGTERM');
      const timer = setTimeout(() => turn.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  // Ready once it answers a STUN Binding request on its UDP port (its log lines vary by version).
  while (!(await answersStun(options.port))) {
    if (turn.exitCode !== null || Date.now() > deadline) {
      await close();
      throw new Error(`coturn did not start: ${output.slice(-2000)}`);
    }
  }
  return { url: `turn:127.0.0.1:${options.port}?transport=udp`, port: options.port, relayPorts: { min: options.relayMin, max: options.relayMax }, close };
}

/** Sends one STUN Binding request (RFC 5389) and waits up to 200 ms for any answer. */
function answersStun(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const request = Buffer.alloc(20);
    request.writeUInt16BE(0x0001, 0);
    request.writeUInt32BE(0x2112a442, 4);
    randomBytes(12).copy(request, 8);
    const done = (answered: boolean) => {
      clearTimeout(timer);
      socket.close();
      resolve(answered);
    };
    const timer = setTimeout(() => done(false), 200);
    socket.once('message', () => done(true));
    socket.once('error', () => done(false));
    socket.send(request, port, '127.0.0.1');
  });
}
