import { Secret, TOTP } from 'otpauth';

/** RFC 6238 defaults every authenticator app understands: SHA-1, 6 digits, 30 s. */
const PERIOD_SECONDS = 30;
const ISSUER = 'untxt';

function totp(secretBase32: string, label = ISSUER): TOTP {
  return new TOTP({ issuer: ISSUER, label, algorithm: 'SHA1', digits: 6, period: PERIOD_SECONDS, secret: Secret.fromBase32(secretBase32) });
}

/** 160 random bits, base32: what an authenticator app is given (by URI or typed in). */
export function generateTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** `otpauth://totp/…` for a QR code or an app's "add by URL". */
export function totpUri(secretBase32: string, accountLabel: string): string {
  return totp(secretBase32, accountLabel).toString();
}

/**
 * The time step a code belongs to when it is valid now (one step of drift either way), else
 * null. Callers accept each step once (acceptTotpStep) so a code cannot be replayed.
 */
export function matchTotpStep(secretBase32: string, code: string, now: Date): number | null {
  const timestamp = now.getTime();
  const delta = totp(secretBase32).validate({ token: code, timestamp, window: 1 });
  return delta === null ? null : Math.floor(timestamp / 1000 / PERIOD_SECONDS) + delta;
}

/** The current code (tests, and the first-admin printout's example). */
export function totpCode(secretBase32: string, now: Date): string {
  return totp(secretBase32).generate({ timestamp: now.getTime() });
}
