// The systemd unit an operator installs (deploy/interview-ingest.service), checked by systemd
// itself: `systemd-analyze verify` reads it as systemd would at daemon-reload and names every
// unknown key, bad value or missing executable. The settings the service relies on are asserted.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { unitSettings } from '../support/unitSettings.ts';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../..');
const unitFile = path.join(repoRoot, 'deploy', 'interview-ingest.service');

describe('the systemd unit', () => {
  it('passes systemd-analyze verify', async () => {
    // A copy in a folder of its own (verify also loads what the unit names, e.g. its WantedBy).
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'interview-ingest-unit-'));
    try {
      const copy = path.join(dir, 'interview-ingest.service');
      fs.copyFileSync(unitFile, copy);
      const result = await run('systemd-analyze', ['verify', '--man=no', copy], { env: { ...process.env, SYSTEMD_LOG_LEVEL: 'warning' } }).then(
        ({ stderr }) => ({ code: 0, stderr }),
        (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
      );
      // Lines about the unit itself (the host's own units may draw warnings of their own).
      const aboutUnit = result.stderr.split('\n').filter((line) => line.includes('interview-ingest.service'));
      expect(aboutUnit).toEqual([]);
      expect(result.code).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops by SIGTERM to the main process with room for the drain and the hand-over, restarts on failure, keeps its data private', () => {
    const unit = unitSettings(fs.readFileSync(unitFile, 'utf8'));
    expect(unit.get('KillSignal')).toBe('SIGTERM');
    expect(unit.get('KillMode')).toBe('mixed');
    // DRAIN_SECONDS (5 by default) + the service's own 15 s limit on its shutdown, with margin.
    expect(Number(unit.get('TimeoutStopSec'))).toBeGreaterThan(5 + 15);
    expect(unit.get('Restart')).toBe('on-failure');
    expect(unit.get('StateDirectoryMode')).toBe('0700');
    expect(unit.get('Environment')).toBeDefined();
    expect(fs.readFileSync(unitFile, 'utf8')).toMatch(/^Environment=DATA_DIR=\/var\/lib\/interview-ingest$/m);
    // Node runs the service itself (npm would not pass SIGTERM on to it).
    expect(unit.get('ExecStart')).toMatch(/^\/usr\/bin\/node /);
  });
});
