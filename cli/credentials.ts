/**
 * Tokens per endpoint in `${XDG_CONFIG_HOME:-~/.config}/untxt/credentials.json`: the folder 0700,
 * the file 0600, every write a new file renamed over the old one (a crash never leaves half a
 * file, and a rotated refresh token is never lost to a torn write). A lock file serialises
 * refreshes between CLI processes: refresh tokens rotate, and presenting a used one revokes the
 * whole session (reuse detection), so two processes must not refresh the same token.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { CliError, EXIT } from './exit-codes';

const sessionSchema = z.object({
  accessToken: z.string().min(1),
  refreshToken: z.string().min(1),
  /** When the access token expires (ISO 8601). */
  accessExpiresAt: z.iso.datetime(),
  email: z.string().optional(),
});
export type StoredSession = z.infer<typeof sessionSchema>;

const fileSchema = z.object({ version: z.literal(1), endpoints: z.record(z.string(), sessionSchema) });
type CredentialsFile = z.infer<typeof fileSchema>;

export function credentialsPath(env: Readonly<Record<string, string | undefined>>): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'untxt', 'credentials.json');
}

const LOCK_STALE_MS = 30_000;
const LOCK_WAIT_MS = 15_000;

export class CredentialStore {
  constructor(readonly path: string) {}

  async get(endpoint: string): Promise<StoredSession | undefined> {
    return (await this.read()).endpoints[endpoint];
  }

  async set(endpoint: string, session: StoredSession): Promise<void> {
    const file = await this.read();
    file.endpoints[endpoint] = session;
    await this.write(file);
  }

  async delete(endpoint: string): Promise<boolean> {
    const file = await this.read();
    if (!(endpoint in file.endpoints)) return false;
    delete file.endpoints[endpoint];
    await this.write(file);
    return true;
  }

  /** Runs `work` holding the store's lock (other CLI processes wait; a lock older than 30 s is taken over). */
  async withLock<T>(work: () => Promise<T>): Promise<T> {
    await this.ensureDir();
    const lockPath = `${this.path}.lock`;
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        const handle = await open(lockPath, 'wx', 0o600);
        await handle.close();
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const age = await stat(lockPath).then((s) => Date.now() - s.mtimeMs, () => 0);
        if (age > LOCK_STALE_MS) {
          await rm(lockPath, { force: true });
          continue;
        }
        if (Date.now() > deadline) throw new CliError(`another untxt process holds ${lockPath}; remove it if none is running`, EXIT.auth, 'credentials_locked');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    try {
      return await work();
    } finally {
      await rm(lockPath, { force: true });
    }
  }

  private async read(): Promise<CredentialsFile> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, endpoints: {} };
      throw error;
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
    const parsed = fileSchema.safeParse(data);
    if (!parsed.success) {
      throw new CliError(`${this.path} is not a credentials file this version understands; delete it and log in again`, EXIT.auth, 'credentials_unreadable');
    }
    return parsed.data;
  }

  private async ensureDir(): Promise<void> {
    const dir = dirname(this.path);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // mkdir keeps an existing folder's mode: tighten one created looser (by hand, or an old umask).
    await chmod(dir, 0o700);
  }

  private async write(file: CredentialsFile): Promise<void> {
    await this.ensureDir();
    const temporary = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    // Created 0600 from the first byte ('wx' also refuses to follow a planted file or link).
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(file, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(temporary, this.path);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }
}
