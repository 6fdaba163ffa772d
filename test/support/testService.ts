// A real Service for integration tests: its own temporary DATA_DIR, PORT 0 (the port the system picks), one
// mediasoup worker on a random RTC port slice (files running in parallel do not collide), and
// helpers to call the admin API and create interviews.
import fs from 'node:fs';
import { pino, type Logger } from 'pino';
import { Service } from '../../server/Service.ts';
import type { Config } from '../../config/Config.ts';
import { randomRtcPorts } from './rtcPorts.ts';
import { testConfig } from './testConfig.ts';

export interface CreatedInterview {
  id: string;
  candidateUrl: string;
  proctorUrl: string;
  candidateToken: string;
  proctorToken: string;
}

export interface TestService {
  service: Service;
  /** http://127.0.0.1:<port>, equal to PUBLIC_URL. */
  url: string;
  adminToken: string;
  dataDir: string;
  /** Calls the HTTP API as the admin; `body` is sent as JSON. */
  api: <T = unknown>(method: string, path: string, body?: unknown) => Promise<{ status: number; body: T }>;
  createInterview: (input?: { durationSeconds?: number; candidateName?: string }) => Promise<CreatedInterview>;
  /** Closes the service and deletes its DATA_DIR (unless keepDataDir). */
  close: (options?: { keepDataDir?: boolean }) => Promise<void>;
}

/** The admin token of every in-process test service (unless a test sets ADMIN_TOKEN itself). */
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';

/** Headers that let a test fetch stored recordings (`/media/...` needs a token or a signature). */
export const asAdmin = (token = TEST_ADMIN_TOKEN): Record<string, string> => ({ authorization: `Bearer ${token}` });

function tokenOf(url: string): string {
  const token = new URLSearchParams(new URL(url).hash.slice(1)).get('token');
  if (!token) throw new Error(`no token in ${url}`);
  return token;
}

/** Starts a Service; `env` overrides any configuration variable (e.g. durations, bitrates). */
export async function startTestService(env: Record<string, string> = {}, options: { configure?: (config: Config) => void; logger?: Logger } = {}): Promise<TestService> {
  const config = await testConfig({ ...randomRtcPorts(), ADMIN_TOKEN: TEST_ADMIN_TOKEN, ...env });
  // For what no variable allows (e.g. parts below S3's 5 MiB minimum, which s3rver accepts).
  options.configure?.(config);
  // PORT 0 (unless the test set one): the service binds the port the system picks, and reports it.
  const service = await Service.create(config, options.logger ? { logger: options.logger } : {});
  const url = service.localUrl;
  const adminToken = service.adminToken;

  const api: TestService['api'] = async <T>(method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
  };

  return {
    service,
    url,
    adminToken,
    dataDir: config.dataDir,
    api,
    async createInterview(input = {}) {
      const { status, body } = await api<{ id: string; candidateUrl: string; proctorUrl: string }>('POST', '/api/interviews', {
        durationSeconds: input.durationSeconds ?? 600,
        ...(input.candidateName ? { candidateName: input.candidateName } : {}),
      });
      if (status !== 201) throw new Error(`creating an interview answered ${status}: ${JSON.stringify(body)}`);
      return { ...body, candidateToken: tokenOf(body.candidateUrl), proctorToken: tokenOf(body.proctorUrl) };
    },
    async close(options = {}) {
      // An interview ended at the end of a test may still be uploading: let it finish (bounded),
      // or deleting DATA_DIR pulls the files from under the embedded S3 server's open streams.
      await Promise.race([service.sessions.idle(), new Promise((resolve) => setTimeout(resolve, 30_000).unref())]);
      await service.close();
      if (!options.keepDataDir) fs.rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
}

export interface CapturedLog {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A real pino logger whose JSON lines are kept in `lines`, for a test to read what the service logged. */
export function capturingLogger(level = 'info'): { logger: Logger; lines: CapturedLog[] } {
  const lines: CapturedLog[] = [];
  const logger = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line) as CapturedLog) });
  return { logger, lines };
}
