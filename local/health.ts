import type { RouteHandler } from './router';
import { sendJson } from './http';

export type PartStatus = 'ok' | 'error';

/** One part of the service and how to ask it whether it works. */
export interface HealthCheck {
  name: string;
  kind: string;
  /** Resolves with details worth showing (e.g. queue depth) when the part works; throws when it does not. */
  probe: () => Promise<Record<string, unknown> | void>;
}

export interface HealthReport {
  status: 'ok' | 'degraded';
  parts: Record<string, { status: PartStatus; kind: string; error?: string } & Record<string, unknown>>;
}

const PROBE_TIMEOUT_MS = 3000;

export async function checkHealth(checks: HealthCheck[], timeoutMs = PROBE_TIMEOUT_MS): Promise<HealthReport> {
  const results = await Promise.all(
    checks.map(async (check) => {
      try {
        const details = await withTimeout(check.probe(), timeoutMs);
        return [check.name, { status: 'ok' as const, kind: check.kind, ...details }] as const;
      } catch (error) {
        // The reason class only: probe errors can carry connection strings or paths.
        const reason = error instanceof ProbeTimeout ? 'timeout' : 'unavailable';
        return [check.name, { status: 'error' as const, kind: check.kind, error: reason }] as const;
      }
    }),
  );
  const parts = Object.fromEntries(results);
  return { status: results.every(([, part]) => part.status === 'ok') ? 'ok' : 'degraded', parts };
}

/** `GET /health`: 200 when every part answers, 503 otherwise (load balancers and scripts read the status). */
export function healthHandler(checks: HealthCheck[], timeoutMs?: number): RouteHandler {
  return async ({ res }) => {
    const report = await checkHealth(checks, timeoutMs);
    sendJson(res, report.status === 'ok' ? 200 : 503, report);
  };
}

class ProbeTimeout extends Error {}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ProbeTimeout()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
