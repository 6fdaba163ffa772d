import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface ServiceSecrets {
  adminToken: string;
  /** HMAC key for candidate/proctor role tokens. */
  roleTokenKey: string;
  /** True when the admin token was generated now, so it can be printed once. */
  adminTokenGenerated: boolean;
}

/**
 * Secrets kept under DATA_DIR (mode 0600) so links handed out stay valid across restarts.
 * ADMIN_TOKEN from the configuration wins over the stored one.
 */
export function loadServiceSecrets(dataDir: string, configuredAdminToken: string | undefined): ServiceSecrets {
  const file = path.join(dataDir, 'secrets.json');
  let stored: { adminToken?: string; roleTokenKey?: string } = {};
  if (fs.existsSync(file)) stored = JSON.parse(fs.readFileSync(file, 'utf8'));
  const generated = !stored.adminToken;
  const next = {
    adminToken: stored.adminToken ?? randomBytes(24).toString('base64url'),
    roleTokenKey: stored.roleTokenKey ?? randomBytes(32).toString('base64url'),
  };
  if (generated || !stored.roleTokenKey) {
    fs.mkdirSync(dataDir, { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, JSON.stringify(next, null, 2), { mode: 0o600 });
    fs.renameSync(temp, file);
  }
  return {
    adminToken: configuredAdminToken ?? next.adminToken,
    roleTokenKey: next.roleTokenKey,
    adminTokenGenerated: generated && !configuredAdminToken,
  };
}
