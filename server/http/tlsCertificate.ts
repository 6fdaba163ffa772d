// The service's own https (TLS_CERT_FILE / TLS_KEY_FILE): the files are read at start and again
// on SIGHUP, when a renewed certificate is swapped in with setSecureContext. Connections already
// open keep the certificate they were made with and are not dropped; new ones get the new one.
import fs from 'node:fs';
import type { Server } from 'node:https';
import tls from 'node:tls';
import type { Logger } from 'pino';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** The certificate chain and key as read now; throws when either cannot be read or they do not belong together. */
export function readTlsFiles(files: TlsFiles): { cert: Buffer; key: Buffer } {
  const pair = { cert: fs.readFileSync(files.certFile), key: fs.readFileSync(files.keyFile) };
  // Throws on a malformed file and on a key that is not the certificate's ("key values mismatch").
  tls.createSecureContext(pair);
  return pair;
}

/** Reads the files again and serves them to new connections; on any failure the certificate in use stays, and the error is logged. */
export function reloadTlsCertificate(server: Server, files: TlsFiles, logger: Logger): boolean {
  try {
    server.setSecureContext(readTlsFiles(files));
    logger.info({ certFile: files.certFile }, 'TLS certificate reloaded');
    return true;
  } catch (error) {
    logger.error({ err: error, certFile: files.certFile, keyFile: files.keyFile }, 'TLS certificate not reloaded; the one in use stays');
    return false;
  }
}
