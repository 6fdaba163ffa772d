import { randomBytes } from 'node:crypto';
import type { Database } from '../db/Database.ts';
import type { ServiceSecrets } from './ServiceSecrets.ts';

type SecretName = 'adminToken' | 'roleTokenKey' | 'mediaUrlKey';

/** Each key, generated as the single-node secrets.json generates it. */
const GENERATORS: Record<SecretName, () => string> = {
  adminToken: () => randomBytes(24).toString('base64url'),
  roleTokenKey: () => randomBytes(32).toString('base64url'),
  mediaUrlKey: () => randomBytes(32).toString('base64url'),
};

/**
 * The service's keys in cluster mode, kept in the shared database (table `service_secrets`)
 * instead of one node's DATA_DIR: a link signed on one node verifies on every node, and a node
 * started on an empty DATA_DIR takes the cluster's keys. Every node offers freshly generated keys
 * with an insert-if-absent (`on conflict do nothing`), then reads what is stored: nodes starting at
 * once all end up with the first one's keys, with no lock and no second round. ADMIN_TOKEN from the
 * configuration wins over the stored admin token, as in `loadServiceSecrets`.
 */
export async function loadSharedServiceSecrets(database: Database, configuredAdminToken: string | undefined): Promise<ServiceSecrets> {
  const connection = database.em().getConnection();
  const names = Object.keys(GENERATORS) as SecretName[];
  const now = new Date();
  const inserted = new Set<string>();
  for (const name of names) {
    const rows = (await connection.execute('insert into service_secrets (name, value, created_at) values (?, ?, ?) on conflict (name) do nothing returning name', [
      name,
      GENERATORS[name](),
      now,
    ])) as Array<{ name: string }>;
    for (const row of rows) inserted.add(row.name);
  }
  const rows = (await connection.execute('select name, value from service_secrets')) as Array<{ name: string; value: string }>;
  const stored = new Map(rows.map((row): [string, string] => [row.name, row.value]));
  const valueOf = (name: SecretName): string => {
    const value = stored.get(name);
    if (!value) throw new Error(`the shared service secret ${name} is missing from the database`);
    return value;
  };
  return {
    adminToken: configuredAdminToken ?? valueOf('adminToken'),
    roleTokenKey: valueOf('roleTokenKey'),
    mediaUrlKey: valueOf('mediaUrlKey'),
    // Shown once, by the node whose insert stored it.
    adminTokenGenerated: inserted.has('adminToken') && !configuredAdminToken,
    adminTokenConfigured: configuredAdminToken !== undefined,
  };
}
