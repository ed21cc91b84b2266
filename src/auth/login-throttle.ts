import { createHash, createHmac } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { Queryable } from '../db/database';
import { clearLoginFailures, findLoginLock, pruneLoginThrottles, recordLoginFailure } from '../db/repositories/accounts';
import type { SigningKey, SigningKeys } from './signing-keys';

/**
 * Failed-login throttling that neither reveals which emails have accounts nor lets an outsider
 * lock a user out.
 *
 * - Counters are keyed by the normalized email, whether or not an account has it, so an unknown
 *   email is throttled exactly like a known one and every answer is the same for both.
 * - Two counters per attempt. The one for (source address, email) locks after `maxFailures`:
 *   that is the answer a guesser sees. The one for the email alone locks only at the much higher
 *   `maxFailuresPerAccount`, a ceiling on guessing spread over many addresses. So someone
 *   failing on purpose from their own address locks only themselves out of the victim's account;
 *   locking the victim out everywhere takes `maxFailuresPerAccount` failures within one window,
 *   i.e. many addresses, which the WAF's rate-based rule and stage throttling also see. The
 *   trade-off is deliberate: a per-email lock alone is a denial-of-service on any known address,
 *   and a per-address lock alone lets a botnet guess without limit.
 * - IPv6 sources count per /64, which one client usually holds whole.
 * - The stored keys are HMAC-SHA-256 of the email (and address), never the email: the HMAC key
 *   is derived from the access-token signing key (a deterministic Ed25519 signature over a fixed
 *   label, which no token can be, since a token's signing input is `header.payload`). Without the
 *   secret, the table cannot be matched against a list of addresses. Rotating the signing key
 *   starts every counter over, at most one window's worth of throttling lost.
 */

export interface LoginThrottleSettings {
  /** Failures from one address for one email within `lockSeconds` that lock that pair. */
  maxFailures: number;
  /** Failures for one email from anywhere within `lockSeconds` that lock it everywhere. */
  maxFailuresPerAccount: number;
  /** The lock's length, and the window failures are counted in. */
  lockSeconds: number;
}

export interface LoginThrottleKeys {
  /** (source address, email): the per-client counter. */
  address: string;
  /** The email alone: the ceiling. */
  account: string;
}

const PEPPER_LABEL = new TextEncoder().encode('untxt/login-throttle/hmac-key/v1');
const peppers = new WeakMap<SigningKey['privateKey'], Promise<Buffer>>();

async function throttlePepper(signingKeys: SigningKeys): Promise<Buffer> {
  const { privateKey } = await signingKeys.current();
  let pepper = peppers.get(privateKey);
  if (!pepper) {
    pepper = crypto.subtle
      .sign('Ed25519', privateKey, PEPPER_LABEL)
      .then((signature) => createHash('sha256').update(Buffer.from(signature)).digest());
    peppers.set(privateKey, pepper);
  }
  return pepper;
}

/** The form an email is looked up by (findLoginAccount compares lower(trim)). */
export const normalizeEmail = (email: string): string => email.trim().normalize('NFC').toLowerCase();

/** An IPv4 address as is; an IPv6 address as its /64; anything else (no address known) as given. */
export function addressScope(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!;
  if (!isIPv6(ip) || ip.includes('.')) return ip;
  const [head = '', tail] = ip.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

export async function loginThrottleKeys(signingKeys: SigningKeys, email: string, sourceIp: string): Promise<LoginThrottleKeys> {
  const pepper = await throttlePepper(signingKeys);
  const mac = (scope: string): string => createHmac('sha256', pepper).update(scope, 'utf8').digest('hex');
  const normalized = normalizeEmail(email);
  // NUL cannot occur in either part, so no two (address, email) pairs hash the same input.
  return { account: mac(`account\0${normalized}`), address: mac(`address\0${addressScope(sourceIp)}\0${normalized}`) };
}

/** The lock in force for this attempt (either counter), or null. */
export function activeLoginLock(db: Queryable, keys: LoginThrottleKeys, now: Date): Promise<Date | null> {
  return findLoginLock(db, [keys.address, keys.account], now);
}

/** How many stale counters each failure clears away. */
const PRUNE_BATCH = 100;

/** A failed login: both counters count it, and stale counters are pruned. */
export async function countLoginFailure(db: Queryable, keys: LoginThrottleKeys, settings: LoginThrottleSettings, now: Date): Promise<void> {
  const common = { windowSeconds: settings.lockSeconds, lockSeconds: settings.lockSeconds, now };
  await recordLoginFailure(db, { keyHash: keys.address, maxFailures: settings.maxFailures, ...common });
  await recordLoginFailure(db, { keyHash: keys.account, maxFailures: settings.maxFailuresPerAccount, ...common });
  await pruneLoginThrottles(db, { before: new Date(now.getTime() - settings.lockSeconds * 1000), now, limit: PRUNE_BATCH });
}

/**
 * A successful login clears the client's own counter. The per-email ceiling is left to run out:
 * the owner logging in must not reset the count of a guessing campaign spread over addresses.
 */
export function clearLoginFailuresFor(db: Queryable, keys: LoginThrottleKeys): Promise<void> {
  return clearLoginFailures(db, keys.address);
}
