import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

export interface LocalCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

const credentialsSchema = z.strictObject({
  accessKeyId: z.string().regex(/^[A-Z0-9]{16,128}$/),
  secretAccessKey: z.string().min(32).max(128),
});

const FILE_NAME = 'credentials.json';
const OWNER_ONLY = 0o600;

/**
 * The local store's signing key pair: generated on first start and kept with the data, so URLs
 * handed out before a restart stay valid after it. The file is readable by its owner only, and
 * neither value is ever logged.
 */
export async function loadOrCreateLocalCredentials(directory: string): Promise<LocalCredentials> {
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const path = join(directory, FILE_NAME);
  const created = generate();
  try {
    // 'wx' fails if the file exists, so two processes starting at once cannot overwrite each other.
    await writeFile(path, JSON.stringify(created), { flag: 'wx', mode: OWNER_ONLY });
    return created;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  // Tighten a file whose permissions were loosened by hand (or by a copy).
  if (((await stat(path)).mode & 0o077) !== 0) await chmod(path, OWNER_ONLY);
  const parsed = credentialsSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
  if (!parsed.success) throw new Error(`The local object store credentials file is malformed: ${path}`);
  return parsed.data;
}

function generate(): LocalCredentials {
  // Not an AKIA… id: nothing here should look like (or be mistaken for) a real AWS key.
  const id = `LOCAL${randomBytes(12).toString('hex').toUpperCase()}`;
  return { accessKeyId: id, secretAccessKey: randomBytes(30).toString('base64url') };
}
