import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptParams {
  /** CPU/memory cost, a power of two. Memory is 128·N·r bytes (128 MiB at the default). */
  N: number;
  r: number;
  p: number;
}

/** OWASP's scrypt recommendation. Raise it here: older hashes are re-hashed at their next login. */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { N: 2 ** 17, r: 8, p: 1 };

const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** A stored string is input too: parameters beyond these are refused rather than run (memory/CPU bomb). */
const MAX_PARAMS: ScryptParams = { N: 2 ** 20, r: 32, p: 16 };

export interface VerifyOutcome {
  ok: boolean;
  /** The hash was made with other parameters than the current ones: store a fresh hash. */
  needsRehash: boolean;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, stored: string): Promise<VerifyOutcome>;
  /** The work of one verify, against nothing: an unknown email costs what a wrong password costs. */
  dummyVerify(password: string): Promise<void>;
}

function scrypt(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r };
  return new Promise((resolve, reject) => {
    scryptCallback(password.normalize('NFC'), salt, KEY_BYTES, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

const b64 = (bytes: Buffer): string => bytes.toString('base64url');

/** `scrypt$N$r$p$salt$hash`, salt and hash base64url: self-describing, so parameters can rise. */
export function formatHash(params: ScryptParams, salt: Buffer, key: Buffer): string {
  return `scrypt$${params.N}$${params.r}$${params.p}$${b64(salt)}$${b64(key)}`;
}

export function parseHash(stored: string): { params: ScryptParams; salt: Buffer; key: Buffer } | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = parts.slice(1, 4).map((v) => (/^[1-9][0-9]{0,9}$/.test(v!) ? Number(v) : NaN)) as [number, number, number];
  const isPowerOfTwo = N > 1 && (N & (N - 1)) === 0;
  if (!isPowerOfTwo || !(r >= 1) || !(p >= 1) || N > MAX_PARAMS.N || r > MAX_PARAMS.r || p > MAX_PARAMS.p) return null;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const key = Buffer.from(parts[5]!, 'base64url');
  if (salt.length < 16 || key.length !== KEY_BYTES) return null;
  return { params: { N, r, p }, salt, key };
}

export function scryptHasher(params: ScryptParams = DEFAULT_SCRYPT_PARAMS): PasswordHasher {
  let dummy: Promise<string> | undefined;
  const hash = async (password: string): Promise<string> => {
    const salt = randomBytes(SALT_BYTES);
    return formatHash(params, salt, await scrypt(password, salt, params));
  };
  const verify = async (password: string, stored: string): Promise<VerifyOutcome> => {
    const parsed = parseHash(stored);
    if (!parsed) return { ok: false, needsRehash: false };
    const key = await scrypt(password, parsed.salt, parsed.params);
    const ok = timingSafeEqual(key, parsed.key);
    const same = parsed.params.N === params.N && parsed.params.r === params.r && parsed.params.p === params.p;
    return { ok, needsRehash: ok && !same };
  };
  return {
    hash,
    verify,
    async dummyVerify(password: string): Promise<void> {
      dummy ??= hash(randomBytes(16).toString('hex'));
      await verify(password, await dummy);
    },
  };
}
