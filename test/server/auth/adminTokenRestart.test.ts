// README: "With no ADMIN_TOKEN set, one is generated once and kept in DATA_DIR/secrets.json" — a
// restart on the same DATA_DIR keeps that token, and the links handed out before stay valid.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../support/testConfig.ts';
import { startTestService, type TestService } from '../../support/testService.ts';

describe('an admin token generated because none was configured', () => {
  const dataDir = tempDir();
  let t: TestService | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('is kept across a restart on the same DATA_DIR, with the role links signed before it', async () => {
    // ADMIN_TOKEN empty = unset.
    t = await startTestService({ ADMIN_TOKEN: '', DATA_DIR: dataDir });
    expect(t.service.adminTokenGenerated).toBe(true);
    const token = t.adminToken;
    expect(token.length).toBeGreaterThanOrEqual(16);
    expect(JSON.parse(fs.readFileSync(path.join(dataDir, 'secrets.json'), 'utf8')).adminToken).toBe(token);
    const interview = await t.createInterview();
    await t.close({ keepDataDir: true });

    t = await startTestService({ ADMIN_TOKEN: '', DATA_DIR: dataDir });
    expect(t.adminToken).toBe(token);
    expect(t.service.adminTokenGenerated).toBe(false);
    expect((await t.api('GET', `/api/interviews/${interview.id}`)).status).toBe(200);
    const session = await fetch(`${t.url}/session/${interview.id}/recording`, { headers: { authorization: `Bearer ${interview.proctorToken}` } });
    expect(session.status).toBe(200);
  });
});
