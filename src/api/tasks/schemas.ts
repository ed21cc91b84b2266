import * as z from 'zod';
import { TASK_STATUSES } from '../../domain/task';
import { LISTABLE_STATUSES, UPLOAD_CONTENT_TYPES, UPLOAD_TYPES } from '../../domain/upload-types';
import { MAX_LIST_LIMIT } from '../../db/repositories/tasks';
import type { ApiConfig } from '../config';

/**
 * Request and response shapes of the task routes: the handlers validate with these and the
 * OpenAPI document is generated from them, so the two cannot disagree.
 */

// Re-exported: the API's modules and tests read the upload types from here.
export { UPLOAD_CONTENT_TYPES, UPLOAD_TYPES, type UploadContentType } from '../../domain/upload-types';

export const MAX_FILENAME_BYTES = 255;

/**
 * A file name is a label shown back to its owner, never a path and never part of an object key:
 * 1–255 bytes of UTF-8; no control characters (C0, DEL, C1), no bidirectional overrides (they
 * make `report‮fdp.exe` look like `reportexe.pdf`), no lone surrogates (not UTF-8 at all), no `/`
 * or `\`, not only dots or spaces. Nothing is normalised or trimmed: what is accepted is stored
 * as sent, and what would need fixing is refused, saying why.
 */
export const filenameSchema = z
  .string()
  .min(1, 'is required')
  .refine((name) => Buffer.byteLength(name, 'utf8') <= MAX_FILENAME_BYTES, `must be at most ${MAX_FILENAME_BYTES} bytes of UTF-8`)
  .refine((name) => !/\p{Cc}/u.test(name), 'must not contain control characters')
  .refine((name) => !/[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/.test(name), 'must not contain bidirectional control characters')
  .refine((name) => !/\p{Cs}/u.test(name), 'must be valid Unicode')
  .refine((name) => !/[/\\]/.test(name), 'must not contain / or \\')
  .refine((name) => !/^[.\s]*$/u.test(name), 'must not be only dots or spaces');

const sha256HexSchema = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/, 'must be the SHA-256 of the file as 64 hex digits')
  .transform((hex) => hex.toLowerCase());

/** `POST /v1/tasks`. The size limit is configuration, hence a schema per limit. */
export function createTaskBodySchema(limits: Pick<ApiConfig['limits'], 'maxUploadBytes'>) {
  return z
    .strictObject({
      filename: filenameSchema,
      contentType: z.enum(UPLOAD_CONTENT_TYPES, { error: `must be one of ${UPLOAD_CONTENT_TYPES.join(', ')}` }),
      size: z
        .number()
        .int('must be a whole number of bytes')
        .min(1, 'must be at least 1 byte')
        .max(limits.maxUploadBytes, `must be at most ${limits.maxUploadBytes} bytes`),
      sha256: sha256HexSchema,
    })
    .superRefine((body, ctx) => {
      const extension = /\.([^.]+)$/.exec(body.filename)?.[1]?.toLowerCase();
      const allowed: readonly string[] = UPLOAD_TYPES[body.contentType];
      if (extension === undefined || !allowed.includes(extension)) {
        ctx.addIssue({
          code: 'custom',
          path: ['filename'],
          message: `must end in ${allowed.map((e) => `.${e}`).join(' or ')} for ${body.contentType}`,
        });
      }
    });
}

export const DEFAULT_LIST_LIMIT = 20;

/** `GET /v1/tasks?status=&limit=&cursor=`; unknown parameters are refused like unknown fields. */
export const listTasksQuerySchema = z.strictObject({
  status: z.enum(LISTABLE_STATUSES, { error: `must be one of ${LISTABLE_STATUSES.join(', ')}` }).optional(),
  limit: z
    .string()
    .regex(/^[0-9]{1,3}$/, `must be a whole number from 1 to ${MAX_LIST_LIMIT}`)
    .transform(Number)
    .pipe(z.number().int().min(1, `must be a whole number from 1 to ${MAX_LIST_LIMIT}`).max(MAX_LIST_LIMIT, `must be a whole number from 1 to ${MAX_LIST_LIMIT}`))
    .optional(),
  cursor: z.string().min(1).max(200, 'is not a valid cursor').optional(),
});

export const RESULT_FORMATS = ['html', 'text', 'json'] as const;
export type ResultFormat = (typeof RESULT_FORMATS)[number];

/** `GET /v1/tasks/{id}/result?format=`; html when omitted. */
export const resultQuerySchema = z.strictObject({
  format: z.enum(RESULT_FORMATS, { error: 'must be html, text or json' }).optional(),
});

// ---------------------------------------------------------------------------------------------
// Responses (documentation; the cores build them from repository records)

export const resultSummarySchema = z.object({
  pageCount: z.number().int(),
  wordCount: z.number().int(),
  /** 0..1, mean over pages; null when the engine gave none. */
  confidence: z.number().nullable(),
  model: z.string(),
  processingMs: z.number().int(),
  completedAt: z.iso.datetime(),
});

export const taskSchema = z.object({
  id: z.uuid(),
  status: z.enum(TASK_STATUSES),
  filename: z.string().nullable(),
  contentType: z.string(),
  size: z.number().int(),
  pageCount: z.number().int().nullable(),
  pagesDone: z.number().int(),
  errorCode: z.string().nullable(),
  errorMessage: z.string().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  /** Present when the task has completed. */
  result: resultSummarySchema.optional(),
});

export const uploadSchema = z.object({
  url: z.url(),
  method: z.literal('PUT'),
  headers: z.object({ 'Content-Type': z.string(), 'x-amz-checksum-sha256': z.string() }),
  expiresAt: z.iso.datetime(),
});

export const createTaskResponseSchema = z.object({ task: taskSchema, upload: uploadSchema });
export const taskResponseSchema = z.object({ task: taskSchema });
export const taskListResponseSchema = z.object({ items: z.array(taskSchema), nextCursor: z.string().nullable() });
export const presignedUrlResponseSchema = z.object({ url: z.url(), expiresAt: z.iso.datetime() });
