// A certificate authority made at run time with openssl, and server certificates it signs, for
// tests of TLS (nginx in front of the service, or the service's own https). Nothing is installed
// in the system's trust store: Node clients pass `ca`, Chromium trusts the server key by its SPKI hash.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface TestCa {
  dir: string;
  certFile: string;
  keyFile: string;
  /** The CA certificate (PEM), for Node's `ca` option. */
  pem: string;
}

export interface ServerCertificate {
  certFile: string;
  keyFile: string;
  pem: string;
  /** base64 SHA-256 of the public key (SPKI): Chromium's --ignore-certificate-errors-spki-list. */
  spkiSha256: string;
  /** The certificate's serial number (hex), to tell two certificates apart. */
  serial: string;
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: 'pipe' });

/** A fresh CA (EC P-256, valid one day) in `dir`. */
export function makeTestCa(dir: string): TestCa {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=interview-ingest test CA'], dir);
  return { dir, certFile: path.join(dir, 'ca.pem'), keyFile: path.join(dir, 'ca.key'), pem: fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8') };
}

/**
 * A server certificate for `hostNames` (localhost unless given) and 127.0.0.1, signed by `ca`,
 * written as `<name>.pem` / `<name>.key` in the CA's dir.
 */
export function issueServerCertificate(ca: TestCa, name = 'server', hostNames: readonly string[] = ['localhost']): ServerCertificate {
  const { dir } = ca;
  const names = [...hostNames.map((host) => `DNS:${host}`), 'IP:127.0.0.1'].join(',');
  fs.writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${names}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=localhost'], dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', '-extfile', `${name}.ext`], dir);
  const pem = fs.readFileSync(path.join(dir, `${name}.pem`), 'utf8');
  const certificate = new crypto.X509Certificate(pem);
  const spki = certificate.publicKey.export({ type: 'spki', format: 'der' });
  return {
    certFile: path.join(dir, `${name}.pem`),
    keyFile: path.join(dir, `${name}.key`),
    pem,
    spkiSha256: crypto.createHash('sha256').update(spki).digest('base64'),
    serial: certificate.serialNumber,
  };
}
