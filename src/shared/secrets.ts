import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface Secrets {
  /** What clients present to `POST /stocks`. */
  ingestToken: string;
  /** Signs sessions (accounts issue). */
  authSecret: string;
}

/**
 * Secrets the user did not configure are generated on first start and kept in DATA_DIR, so that a
 * zero-configuration start works and survives restarts. Configured values always win.
 */
export function loadSecrets(dataDir: string, configured: Partial<Secrets>): Secrets {
  const file = path.join(dataDir, 'secrets.json');
  let stored = readSecrets(file);
  if (!stored) {
    mkdirSync(dataDir, { recursive: true });
    const fresh: Secrets = { ingestToken: token(), authSecret: token() };
    try {
      // 'wx' fails if another process wrote it first; then theirs is the one everybody uses.
      writeFileSync(file, `${JSON.stringify(fresh, null, 2)}\n`, { flag: 'wx', mode: 0o600 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    stored = readSecrets(file) ?? fresh;
  }
  return {
    ingestToken: configured.ingestToken ?? stored.ingestToken,
    authSecret: configured.authSecret ?? stored.authSecret,
  };
}

function readSecrets(file: string): Secrets | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<Secrets>;
    if (typeof parsed.ingestToken === 'string' && typeof parsed.authSecret === 'string')
      return { ingestToken: parsed.ingestToken, authSecret: parsed.authSecret };
    return undefined;
  } catch {
    return undefined;
  }
}

export function token(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
