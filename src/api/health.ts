import type { ApiRequest, ApiResponse } from '../http/request';
import type { ApiDeps } from './deps';

const PROBE_TIMEOUT_MS = 3000;

/**
 * `GET /health` in AWS: whether this function reaches the database, in the same shape local
 * mode's health report uses. 503 when it does not (a paused Aurora cluster resumes on this probe).
 * The reason stays a class ("timeout", "unavailable"): driver messages can name hosts.
 */
export async function healthCore(_req: ApiRequest, deps: Pick<ApiDeps, 'db'>): Promise<ApiResponse> {
  let timer: NodeJS.Timeout | undefined;
  const part = await Promise.race([
    deps.db.query('SELECT 1').then(() => ({ status: 'ok' as const })),
    new Promise<{ status: 'error'; error: string }>((resolve) => {
      timer = setTimeout(() => resolve({ status: 'error', error: 'timeout' }), PROBE_TIMEOUT_MS);
    }),
  ]).catch(() => ({ status: 'error' as const, error: 'unavailable' }));
  clearTimeout(timer);
  const ok = part.status === 'ok';
  return {
    status: ok ? 200 : 503,
    body: { status: ok ? 'ok' : 'degraded', parts: { database: { ...part, kind: deps.db.kind } } },
    ...(ok ? {} : { headers: { 'retry-after': '15' } }),
  };
}
