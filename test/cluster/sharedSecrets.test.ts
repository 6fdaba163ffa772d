// Cluster mode keeps the service's keys in the shared database: nodes starting at the same moment
// on a fresh database migrate it once and all end up with one set of keys (insert-if-absent, no lock), so a link signed by one verifies on
// every other; a configured ADMIN_TOKEN still wins; the statements run on both dialects.
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RoleTokens, TokenError } from '../../server/auth/RoleTokens.ts';
import { loadSharedServiceSecrets } from '../../server/auth/SharedServiceSecrets.ts';
import { Database } from '../../server/db/Database.ts';
import { migrationNames } from '../../server/db/migrations/index.ts';
import { startPostgres, type PostgresServer } from '../support/postgres.ts';
import { tempDir } from '../support/testConfig.ts';

describe('the service keys shared through the database', () => {
  let postgres: PostgresServer;
  const opened: Database[] = [];
  beforeAll(async () => {
    postgres = await startPostgres();
  });
  afterEach(async () => {
    for (const database of opened.splice(0)) await database.close();
  });
  afterAll(async () => {
    await postgres?.stop();
  });

  async function open(location: Parameters<typeof Database.open>[0]): Promise<Database> {
    const { database } = await Database.open(location);
    opened.push(database);
    return database;
  }

  it('are created once when six nodes start at the same moment on a fresh PostgreSQL (migrated once), and every node gets the same', async () => {
    const url = await postgres.createDatabase('shared_secrets_race');
    // Each node opens (and migrates) the fresh database at once, on its own connection pool: one
    // migrates under the advisory lock, the others wait and find nothing pending.
    const results = await Promise.all(Array.from({ length: 6 }, () => Database.open({ kind: 'postgresql', url })));
    const nodes = results.map((result) => result.database);
    opened.push(...nodes);
    expect(results.map((result) => result.appliedMigrations.length).sort()).toEqual([0, 0, 0, 0, 0, migrationNames.length]);
    const loaded = await Promise.all(nodes.map((database) => loadSharedServiceSecrets(database, undefined)));

    const [first] = loaded;
    for (const secrets of loaded) {
      expect(secrets.roleTokenKey).toBe(first!.roleTokenKey);
      expect(secrets.mediaUrlKey).toBe(first!.mediaUrlKey);
      expect(secrets.adminToken).toBe(first!.adminToken);
    }
    expect(first!.roleTokenKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(first!.mediaUrlKey).not.toBe(first!.roleTokenKey);
    // Exactly one node stored the admin token, and only it may show it once.
    expect(loaded.filter((secrets) => secrets.adminTokenGenerated)).toHaveLength(1);
    const rows = await postgres.query<{ name: string }>('shared_secrets_race', 'select name from service_secrets order by name');
    expect(rows.map((row) => row.name)).toEqual(['adminToken', 'mediaUrlKey', 'roleTokenKey']);

    // A link issued by one node verifies on another; a link signed with another key does not.
    const token = new RoleTokens(loaded[2]!.roleTokenKey).issue('interview-1', 'candidate', 600);
    expect(new RoleTokens(loaded[5]!.roleTokenKey).verify(token)).toMatchObject({ interviewId: 'interview-1', role: 'candidate' });
    expect(() => new RoleTokens('another-key-0123456789abcdef0123456789abcde').verify(token)).toThrow(TokenError);

    // A node started later reads the same keys and generates nothing.
    const later = await loadSharedServiceSecrets(await open({ kind: 'postgresql', url }), undefined);
    expect(later).toMatchObject({ roleTokenKey: first!.roleTokenKey, mediaUrlKey: first!.mediaUrlKey, adminToken: first!.adminToken, adminTokenGenerated: false });
  });

  it('let a configured ADMIN_TOKEN win over the stored one, which stays for the nodes without it', async () => {
    const url = await postgres.createDatabase('shared_secrets_admin');
    const database = await open({ kind: 'postgresql', url });
    const configured = await loadSharedServiceSecrets(database, 'configured-admin-token-0123');
    expect(configured).toMatchObject({ adminToken: 'configured-admin-token-0123', adminTokenGenerated: false, adminTokenConfigured: true });
    const [stored] = await postgres.query<{ value: string }>('shared_secrets_admin', "select value from service_secrets where name = 'adminToken'");
    expect(stored!.value).not.toBe('configured-admin-token-0123');
    expect((await loadSharedServiceSecrets(database, undefined)).adminToken).toBe(stored!.value);
  });

  it('use statements SQLite runs too (the table exists in both dialects)', async () => {
    const database = await open(path.join(tempDir(), 'secrets.sqlite'));
    const first = await loadSharedServiceSecrets(database, undefined);
    const second = await loadSharedServiceSecrets(database, undefined);
    expect(first.adminTokenGenerated).toBe(true);
    expect(second).toMatchObject({ roleTokenKey: first.roleTokenKey, mediaUrlKey: first.mediaUrlKey, adminToken: first.adminToken, adminTokenGenerated: false });
  });
});
