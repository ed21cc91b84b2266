/**
 * What travels on the pipeline's queues, validated on receipt (a queue is a trust boundary:
 * anyone with send rights, or a bug, can put anything on it).
 */
import { z } from 'zod';

/** Jobs queue: one message per task to OCR. The claim in the database decides who works on it. */
export const jobMessageSchema = z.strictObject({
  version: z.literal(1),
  taskId: z.uuid(),
});
export type JobMessage = z.infer<typeof jobMessageSchema>;

export const jobMessage = (taskId: string): JobMessage => ({ version: 1, taskId });

/**
 * Intake queue: S3 event notifications, as S3 sends them to SQS (and as the local object store
 * imitates them). Only the fields intake reads are checked; S3 adds others.
 */
const s3RecordSchema = z.object({
  eventName: z.string(),
  s3: z.object({
    bucket: z.object({ name: z.string().min(1) }),
    object: z.object({
      /** URL-encoded, with spaces as `+`. */
      key: z.string().min(1),
      size: z.number().int().nonnegative().optional(),
      versionId: z.string().optional(),
      sequencer: z.string().optional(),
    }),
  }),
});

const s3NotificationSchema = z.object({ Records: z.array(s3RecordSchema) });
const s3TestEventSchema = z.object({ Event: z.literal('s3:TestEvent') });

export interface CreatedObject {
  bucket: string;
  key: string;
  versionId?: string;
}

export type IntakeMessage = { kind: 'test' } | { kind: 'objects'; objects: CreatedObject[] } | { kind: 'invalid'; reason: string };

export function parseIntakeMessage(body: unknown): IntakeMessage {
  if (s3TestEventSchema.safeParse(body).success) return { kind: 'test' };
  const parsed = s3NotificationSchema.safeParse(body);
  if (!parsed.success) return { kind: 'invalid', reason: 'not an S3 event notification' };
  const objects: CreatedObject[] = [];
  for (const record of parsed.data.Records) {
    if (!record.eventName.startsWith('ObjectCreated:')) continue;
    let key: string;
    try {
      key = decodeURIComponent(record.s3.object.key.replace(/\+/g, ' '));
    } catch {
      return { kind: 'invalid', reason: 'object key is not URL-encoded' };
    }
    objects.push({
      bucket: record.s3.bucket.name,
      key,
      ...(record.s3.object.versionId ? { versionId: record.s3.object.versionId } : {}),
    });
  }
  return { kind: 'objects', objects };
}

/** The notification S3 would send for one created object (local mode and tests send the same). */
export function objectCreatedNotification(object: { bucket: string; key: string; size: number; versionId?: string }) {
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        eventName: 'ObjectCreated:Put',
        eventTime: new Date().toISOString(),
        s3: {
          bucket: { name: object.bucket },
          object: {
            key: encodeURIComponent(object.key).replace(/%2F/g, '/').replace(/%20/g, '+'),
            size: object.size,
            ...(object.versionId ? { versionId: object.versionId } : {}),
          },
        },
      },
    ],
  };
}
