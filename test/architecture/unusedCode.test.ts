import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../..');

describe('the code base', () => {
  it('has no unused files, dependencies or exports (knip, configured in knip.jsonc)', async () => {
    const knip = path.join(repoRoot, 'node_modules', '.bin', 'knip');
    const result = await run(knip, ['--no-progress', '--reporter', 'compact'], { cwd: repoRoot, timeout: 120_000 }).then(
      ({ stdout }) => ({ code: 0, output: stdout }),
      (error: { code?: number; stdout?: string; stderr?: string }) => ({ code: error.code ?? -1, output: `${error.stdout ?? ''}${error.stderr ?? ''}` }),
    );
    // On failure the report says what is unused, file by file.
    expect(result.output.trim()).toBe('');
    expect(result.code).toBe(0);
  }, 150_000);
});
