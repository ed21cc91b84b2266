import * as z from 'zod';

/**
 * Opaque keyset cursor for newest-first listings: the (created_at, id) of the last row served.
 * Clients treat it as an opaque string; it arrives back from the network, so decoding validates.
 * It reveals only a timestamp and an id the client was already shown.
 */

export interface ListCursor {
  createdAt: Date;
  id: string;
}

const cursorSchema = z.object({
  v: z.literal(1),
  t: z.iso.datetime({ offset: false, precision: 3 }),
  i: z.uuid(),
});

export class InvalidCursorError extends Error {
  constructor() {
    super('invalid pagination cursor');
    this.name = 'InvalidCursorError';
  }
}

export function encodeCursor(c: ListCursor): string {
  return Buffer.from(JSON.stringify({ v: 1, t: c.createdAt.toISOString(), i: c.id }), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): ListCursor {
  if (cursor.length === 0 || cursor.length > 200 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new InvalidCursorError();
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError();
  }
  const parsed = cursorSchema.safeParse(json);
  if (!parsed.success) throw new InvalidCursorError();
  return { createdAt: new Date(parsed.data.t), id: parsed.data.i.toLowerCase() };
}
