import fs from 'node:fs';
import path from 'node:path';

/**
 * DATA_DIR holds candidates' recordings, the database and the service's secrets: only the
 * service's own user may read them, whatever the umask it was started with. From here on every
 * file this process and its children (ffmpeg, SQLite, the embedded S3 server) create is 0600 and
 * every folder 0700; what an earlier version left more open is tightened now.
 */
export function makeDataDirPrivate(dataDir: string): void {
  process.umask(0o077);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  tighten(dataDir);
}

function tighten(entry: string): void {
  const stat = fs.lstatSync(entry);
  // A symlink's own mode means nothing, and following one could chmod files outside DATA_DIR.
  if (stat.isSymbolicLink()) return;
  if (stat.isDirectory()) {
    if ((stat.mode & 0o777) !== 0o700) fs.chmodSync(entry, 0o700);
    for (const name of fs.readdirSync(entry)) tighten(path.join(entry, name));
  } else if ((stat.mode & 0o077) !== 0) {
    fs.chmodSync(entry, stat.mode & 0o700);
  }
}
