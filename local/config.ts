import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { z } from 'zod';
import { REGISTRATION_MODES, type RegistrationMode } from '../src/api/config';

export interface LocalConfig {
  /** 0 picks a free port (tests). */
  port: number;
  /** Interface to bind; loopback unless asked otherwise, since local mode has no TLS. */
  host: string;
  /** Absolute path of the folder holding the database, objects and keys. */
  dataDir: string;
  /** A PostgreSQL server instead of the embedded PGlite. */
  databaseUrl?: string;
  /** Base URL clients reach the service at, when not `http://<host>:<port>` (presigned URLs sign the host). */
  publicUrl?: string;
  /** Largest object the local store accepts, whatever a URL signs. */
  maxUploadBytes: number;
  /** Who may register: open (local default), invite or approval. */
  registrationMode: RegistrationMode;
}

/** Treats `PORT=` like an unset variable, as shells and .env files often produce it. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

const envSchema = z.object({
  PORT: optional(z.coerce.number({ error: 'must be a number' }).int('must be an integer').min(0, 'must be from 0 to 65535').max(65535, 'must be from 0 to 65535')),
  UNTXT_HOST: optional(z.string().refine((value) => isIP(value) !== 0 || value === 'localhost', 'must be an IP address or localhost')),
  UNTXT_DATA_DIR: optional(z.string()),
  // The value is never echoed in errors: it usually holds a password.
  DATABASE_URL: optional(
    z.string().refine((value) => /^postgres(ql)?:\/\/\S+$/.test(value), 'must be a postgres:// or postgresql:// URL'),
  ),
  UNTXT_PUBLIC_URL: optional(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })),
  UNTXT_MAX_UPLOAD_BYTES: optional(z.coerce.number({ error: 'must be a number' }).int('must be an integer').positive('must be positive')),
  UNTXT_REGISTRATION_MODE: optional(z.enum(REGISTRATION_MODES, { error: `must be one of ${REGISTRATION_MODES.join(', ')}` })),
});

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export const DEFAULT_PORT = 8080;
export const DEFAULT_DATA_DIR = './.untxt';
export const DEFAULT_MAX_UPLOAD_BYTES = 500 * 1024 * 1024;

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): LocalConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const values = parsed.data;
  return {
    port: values.PORT ?? DEFAULT_PORT,
    host: values.UNTXT_HOST ?? '127.0.0.1',
    dataDir: resolve(cwd, values.UNTXT_DATA_DIR ?? DEFAULT_DATA_DIR),
    ...(values.DATABASE_URL ? { databaseUrl: values.DATABASE_URL } : {}),
    ...(values.UNTXT_PUBLIC_URL ? { publicUrl: values.UNTXT_PUBLIC_URL.replace(/\/+$/, '') } : {}),
    maxUploadBytes: values.UNTXT_MAX_UPLOAD_BYTES ?? DEFAULT_MAX_UPLOAD_BYTES,
    registrationMode: values.UNTXT_REGISTRATION_MODE ?? 'open',
  };
}
