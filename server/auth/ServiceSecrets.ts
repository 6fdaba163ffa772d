import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface ServiceSecrets {
  adminToken: string;
  /** HMAC key for candidate/proctor role tokens. */
  roleTokenKey: string;
  /** HMAC key for signed recording URLs (`/media/...?expires=…&signature=…`). */
  mediaUrlKey: string;
  /** True when the admin token was generated now, so it can be printed once. */
  adminTokenGenerated: boolean;
  /** True when ADMIN_TOKEN came from the configuration: it is never printed or logged. */
  adminTokenConfigured: boolean;
}

type StoredSecrets = Partial<Record<'adminToken' | 'roleTokenKey' | 'mediaUrlKey', string>>;

/**
 * Secrets kept under DATA_DIR (mode 0600) so links handed out stay valid across restarts.
 * ADMIN_TOKEN from the configuration wins over the stored one. A key missing from an older file
 * is generated and added; the others are kept.
 */
export function loadServiceSecrets(dataDir: string, configuredAdminToken: string | undefined): ServiceSecrets {
  const file = path.join(dataDir, 'secrets.json');
  let stored: StoredSecrets = {};
  if (fs.existsSync(file)) stored = JSON.parse(fs.readFileSync(file, 'utf8')) as StoredSecrets;
  const generated = !stored.adminToken;
  const next = {
    adminToken: stored.adminToken ?? randomBytes(24).toString('base64url'),
    roleTokenKey: stored.roleTokenKey ?? randomBytes(32).toString('base64url'),
    mediaUrlKey: stored.mediaUrlKey ?? randomBytes(32).toString('base64url'),
  };
  if (generated || !stored.roleTokenKey || !stored.mediaUrlKey) {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const temp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, JSON.stringify(next, null, 2), { mode: 0o600 });
    fs.renameSync(temp, file);
  }
  fs.chmodSync(file, 0o600);
  return {
    adminToken: configuredAdminToken ?? next.adminToken,
    roleTokenKey: next.roleTokenKey,
    mediaUrlKey: next.mediaUrlKey,
    adminTokenGenerated: generated && !configuredAdminToken,
    adminTokenConfigured: configuredAdminToken !== undefined,
  };
}
