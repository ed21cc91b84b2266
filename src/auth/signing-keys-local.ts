import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateSigningJwks, parseJwks, privateJwksSchema, staticSigningKeys, type SigningKeys } from './signing-keys';

export const LOCAL_SIGNING_KEYS_FILE = 'jwt-signing-keys.json';

/**
 * Local mode's token key: generated on first start into `<dataDir>/keys/` (folder 0700, file
 * 0600, created exclusively so two starts cannot write different keys), read on every later
 * start so tokens survive a restart.
 */
export async function loadOrCreateLocalSigningKeys(dataDir: string): Promise<SigningKeys> {
  const dir = join(dataDir, 'keys');
  const file = join(dir, LOCAL_SIGNING_KEYS_FILE);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    const handle = await open(file, 'wx', 0o600);
    try {
      await handle.writeFile(JSON.stringify(await generateSigningJwks()));
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return staticSigningKeys(parseJwks(privateJwksSchema, await readFile(file, 'utf8'), 'the local signing key file'));
}
