import * as z from 'zod';
import { requireUser } from '../../auth/authenticate';
import { ApiError } from '../../http/problem';
import { json, type ApiRequest, type ApiResponse } from '../../http/request';
import { parseBody } from '../../http/validation';
import type { ApiDeps } from '../deps';

/** No parameters: the ticket is for the caller. An empty body or `{}`; anything else is refused. */
export const wsTicketBodySchema = z.strictObject({});

export const wsTicketResponseSchema = z.object({ url: z.url(), expiresAt: z.iso.datetime() });

/**
 * `POST /v1/ws-ticket` → `{url, expiresAt}`: the WebSocket URL with a fresh single-use,
 * 60-second ticket in its query. The ticket stands in for the access token during the
 * handshake, where browsers cannot send an Authorization header.
 */
export async function wsTicketCore(req: ApiRequest, deps: Pick<ApiDeps, 'db' | 'tickets' | 'config'>): Promise<ApiResponse> {
  const user = await requireUser(req, deps);
  if (req.body !== undefined) parseBody(wsTicketBodySchema, req);
  const base = deps.config.websocketUrl;
  if (!base) throw new ApiError({ status: 503, code: 'unavailable', detail: 'Notifications are not available here.' });
  const { ticket, expiresAt } = await deps.tickets.issue(user.id);
  const url = new URL(base);
  url.searchParams.set('ticket', ticket);
  return json(200, { url: url.toString(), expiresAt: expiresAt.toISOString() });
}
