import fs from 'node:fs';
import path from 'node:path';
import dotenv from 'dotenv';
import { envSchema } from './schema.ts';
import { toConfig, type Config } from './Config.ts';

/** Thrown for any invalid variable; its message names each offending variable on its own line. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Validates `env` (process.env by default, with `.env` in `cwd` filling unset variables) into a
 * Config. Empty strings count as unset, so `PORT=` behaves like no PORT at all.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const dotenvPath = path.join(cwd, '.env');
  const fromFile = env === process.env && fs.existsSync(dotenvPath) ? dotenv.parse(fs.readFileSync(dotenvPath)) : {};
  const merged: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...fromFile, ...env })) {
    if (value !== undefined && value !== '') merged[key] = value;
  }
  const parsed = envSchema.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = String(issue.path[0] ?? 'configuration');
        // Never echo secrets back into logs (a database or Redis URL carries its password).
        const secret = /TOKEN|SECRET|KEY|DATABASE_URL|REDIS_URL/.test(name);
        const got = merged[name] === undefined || secret ? '' : ` (got ${JSON.stringify(merged[name])})`;
        return `${name}: ${issue.message}${got}`;
      }),
    );
  }
  return toConfig(parsed.data, cwd);
}
