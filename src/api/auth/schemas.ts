import * as z from 'zod';
import { USER_ROLES } from '../../domain/task';

/** Request and response shapes of the auth routes (also the source of the OpenAPI document). */

export const emailSchema = z.email({ error: 'must be an email address' }).max(320, 'must be at most 320 characters');
/** Length, not composition rules (NIST SP 800-63B); the upper bound caps what a request can make us hash. */
export const newPasswordSchema = z.string().min(12, 'must be at least 12 characters').max(256, 'must be at most 256 characters');
const givenPasswordSchema = z.string().min(1, 'is required').max(256, 'must be at most 256 characters');
export const totpSchema = z.string().regex(/^[0-9]{6}$/, 'must be the 6-digit code from your authenticator app');
const opaqueTokenSchema = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'is not a valid token');

export const registerBodySchema = z.strictObject({
  email: emailSchema,
  password: newPasswordSchema,
  /** Required when registration is by invite. */
  inviteCode: opaqueTokenSchema.optional(),
});

export const loginBodySchema = z.strictObject({
  email: emailSchema,
  password: givenPasswordSchema,
  /** Admins: the TOTP code, for a token that may use admin routes. */
  totp: totpSchema.optional(),
});

export const refreshBodySchema = z.strictObject({ refreshToken: opaqueTokenSchema });

export const logoutBodySchema = z.strictObject({});

export const userSchema = z.object({ id: z.uuid(), email: z.string(), role: z.enum(USER_ROLES) });

export const tokenResponseSchema = z.object({
  accessToken: z.string(),
  refreshToken: z.string(),
  tokenType: z.literal('Bearer'),
  expiresIn: z.number().int().positive(),
});
