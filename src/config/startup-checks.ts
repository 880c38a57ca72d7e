import { closeSync, constants, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { GatewayConfig } from './gateway-config.js';

const SQLITE_HEADER = 'SQLite format 3\0';

/**
 * What the configuration asks of this host that cannot work, found before anything starts. An audit SQLite file that
 * cannot be created or opened is a mistake in the file, not an outage to ride out: the gateway would start, refuse
 * every run and report `EEXIST … mkdir` in its logs (a PostgreSQL store that is down, by contrast, may come back).
 */
export function startupProblems(config: GatewayConfig): string[] {
  if (config.audit.store !== 'sqlite' || config.audit.sqlite.path === ':memory:') return [];
  const problem = sqliteFileProblem(resolve(config.audit.sqlite.path));
  return problem ? [`audit.sqlite.path: ${problem}`] : [];
}

function sqliteFileProblem(path: string): string | undefined {
  const directory = dirname(path);
  try {
    mkdirSync(directory, { recursive: true });
  } catch (error) {
    return `cannot create the directory ${directory} (${reason(error)})`;
  }
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) {
    return `${path} is a directory; name the database file in it, e.g. ${path}/audit.db`;
  }
  let fd: number;
  try {
    // Created as the store creates it (0600), so this check leaves nothing more readable behind.
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
  } catch (error) {
    return `cannot open or create ${path} for writing (${reason(error)})`;
  }
  try {
    const header = Buffer.alloc(SQLITE_HEADER.length);
    const read = readSync(fd, header, 0, header.length, 0);
    if (read > 0 && header.toString('latin1', 0, read) !== SQLITE_HEADER.slice(0, read)) {
      return `${path} is not a SQLite database; name a new file, or the gateway's audit database`;
    }
  } catch (error) {
    return `cannot read ${path} (${reason(error)})`;
  } finally {
    closeSync(fd);
  }
  return undefined;
}

const REASONS: Record<string, string> = {
  EEXIST: 'a file is in the way',
  ENOTDIR: 'a file is in the way',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left',
};

function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code ?? String(error);
  return REASONS[code] ? `${code}: ${REASONS[code]}` : code;
}
