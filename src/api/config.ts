import * as z from 'zod';
import { DEFAULT_MAX_PAGES_PER_DAY } from '../db/repositories/quota';

export const REGISTRATION_MODES = ['open', 'invite', 'approval'] as const;
export type RegistrationMode = (typeof REGISTRATION_MODES)[number];

/** What the API cores are configured with; the same shape in AWS (from env) and local mode. */
export interface ApiConfig {
  /** open: anyone; invite: an admin's single-use code; approval: accounts wait for an admin. */
  registrationMode: RegistrationMode;
  tokens: {
    issuer: string;
    audience: string;
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
  };
  /** Failed-login throttling; see src/auth/login-throttle.ts for why there are two limits. */
  login: {
    /** Failed logins from one address for one email within `lockSeconds` that lock that pair. */
    maxFailures: number;
    /** Failed logins for one email from any address within `lockSeconds` that lock it everywhere. */
    maxFailuresPerAccount: number;
    lockSeconds: number;
  };
  invites: { ttlSeconds: number };
  limits: {
    maxUploadBytes: number;
    maxPages: number;
    maxConcurrentTasks: number;
    maxPagesPerDay: number;
    maxBytesPerDay: number;
    /** Presigned upload and result URLs. */
    urlTtlSeconds: number;
    /** Text and JSON results above this answer 303 to a presigned GET. */
    inlineResultMaxBytes: number;
  };
  /** wss:// base of the WebSocket API (ws-ticket); undefined where there is none. */
  websocketUrl: string | undefined;
}

export const DEFAULT_TOKEN_ISSUER = 'untxt';
export const DEFAULT_TOKEN_AUDIENCE = 'untxt-api';

export function defaultApiConfig(overrides: { registrationMode: RegistrationMode; websocketUrl?: string }): ApiConfig {
  return {
    registrationMode: overrides.registrationMode,
    tokens: {
      issuer: DEFAULT_TOKEN_ISSUER,
      audience: DEFAULT_TOKEN_AUDIENCE,
      accessTokenTtlSeconds: 15 * 60,
      refreshTokenTtlSeconds: 30 * 24 * 3600,
    },
    login: { maxFailures: 5, maxFailuresPerAccount: 100, lockSeconds: 15 * 60 },
    invites: { ttlSeconds: 7 * 24 * 3600 },
    limits: {
      maxUploadBytes: 500 * 1024 * 1024,
      maxPages: 3000,
      maxConcurrentTasks: 10,
      maxPagesPerDay: DEFAULT_MAX_PAGES_PER_DAY,
      maxBytesPerDay: 10 * 1024 * 1024 * 1024,
      urlTtlSeconds: 300,
      inlineResultMaxBytes: 5 * 1024 * 1024,
    },
    websocketUrl: overrides.websocketUrl,
  };
}

const positiveInt = z.coerce.number().int().positive();
const optionalEnv = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

const envSchema = z.object({
  REGISTRATION_MODE: optionalEnv(z.enum(REGISTRATION_MODES)),
  TOKEN_ISSUER: optionalEnv(z.string().min(1)),
  TOKEN_AUDIENCE: optionalEnv(z.string().min(1)),
  MAX_UPLOAD_BYTES: optionalEnv(positiveInt),
  MAX_PAGES: optionalEnv(positiveInt),
  MAX_CONCURRENT_TASKS: optionalEnv(positiveInt),
  MAX_PAGES_PER_DAY: optionalEnv(positiveInt),
  MAX_BYTES_PER_DAY: optionalEnv(positiveInt),
  WEBSOCKET_URL: optionalEnv(z.url({ protocol: /^wss?$/ })),
});

export class ApiConfigError extends Error {
  override name = 'ApiConfigError';
}

/** AWS: configuration from the function's environment; registration defaults to `invite`. */
export function apiConfigFromEnv(env: Readonly<Record<string, string | undefined>>): ApiConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ApiConfigError(
      `invalid API configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const v = parsed.data;
  const config = defaultApiConfig({ registrationMode: v.REGISTRATION_MODE ?? 'invite', websocketUrl: v.WEBSOCKET_URL });
  return {
    ...config,
    tokens: { ...config.tokens, issuer: v.TOKEN_ISSUER ?? config.tokens.issuer, audience: v.TOKEN_AUDIENCE ?? config.tokens.audience },
    limits: {
      ...config.limits,
      maxUploadBytes: v.MAX_UPLOAD_BYTES ?? config.limits.maxUploadBytes,
      maxPages: v.MAX_PAGES ?? config.limits.maxPages,
      maxConcurrentTasks: v.MAX_CONCURRENT_TASKS ?? config.limits.maxConcurrentTasks,
      maxPagesPerDay: v.MAX_PAGES_PER_DAY ?? config.limits.maxPagesPerDay,
      maxBytesPerDay: v.MAX_BYTES_PER_DAY ?? config.limits.maxBytesPerDay,
    },
  };
}
