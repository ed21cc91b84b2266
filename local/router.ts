import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@aws-lambda-powertools/logger';
import { errorSummary } from '../src/adapters/error-summary';
import { splitRequestTarget } from '../src/adapters/local/request-target';
import { sendProblem } from './http';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** Path parameters, percent-decoded; a greedy `{name+}` keeps its slashes. */
  params: Record<string, string>;
  /** The path as received (still percent-encoded), without the query. */
  path: string;
  query: URLSearchParams;
  requestId: string;
  logger: Logger;
}

export type RouteHandler = (context: RequestContext) => Promise<void> | void;

/** A method, or `ANY` for a handler that answers methods itself (as the object store does). */
export type RouteMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS' | 'ANY';

interface Route {
  method: RouteMethod;
  segments: Segment[];
  handler: RouteHandler;
}

type Segment = { literal: string } | { param: string; greedy: boolean };

/**
 * Method + path pattern → handler, with API Gateway's pattern syntax (`/v1/tasks/{id}`,
 * `/s3/{proxy+}`) so routes read the same here and in the CDK app. Handlers own the response;
 * the router only answers what no handler claimed (404, 405) and what a handler threw (500),
 * always as problem+json and never with internals.
 */
export class Router {
  private readonly routes: Route[] = [];

  constructor(private readonly logger: Logger) {}

  on(method: RouteMethod, pattern: string, handler: RouteHandler): this {
    this.routes.push({ method, segments: parsePattern(pattern), handler });
    return this;
  }

  readonly handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    res.setHeader('X-Request-Id', requestId);
    const logger = this.logger.createChild({ persistentKeys: { requestId } });
    const { path, query } = splitTarget(req.url ?? '/');
    const method = (req.method ?? 'GET').toUpperCase();
    try {
      const match = this.match(method, path);
      if (match.kind === 'not_found') {
        sendProblem(res, { status: 404, code: 'not_found', detail: 'No such route.' });
      } else if (match.kind === 'method_not_allowed') {
        sendProblem(
          res,
          { status: 405, code: 'method_not_allowed', detail: `Use ${match.allowed.join(', ')}.`, extensions: { allow: match.allowed } },
          { Allow: match.allowed.join(', ') },
        );
      } else {
        await match.route.handler({ req, res, params: match.params, path, query, requestId, logger });
      }
    } catch (error) {
      logger.error('Request failed', { method, error: errorSummary(error) });
      if (!res.headersSent) sendProblem(res, { status: 500, code: 'internal', detail: 'Something went wrong on our side.' });
      else res.destroy();
    } finally {
      // Whatever the handler left unread is drained, so a keep-alive connection stays usable.
      if (!req.complete) req.resume();
    }
  };

  private match(
    method: string,
    path: string,
  ):
    | { kind: 'found'; route: Route; params: Record<string, string> }
    | { kind: 'not_found' }
    | { kind: 'method_not_allowed'; allowed: string[] } {
    const segments = path.split('/').slice(1);
    const allowed = new Set<string>();
    let fallback: { route: Route; params: Record<string, string> } | undefined;
    for (const route of this.routes) {
      const params = matchSegments(route.segments, segments);
      if (!params) continue;
      if (route.method === method || route.method === 'ANY') return { kind: 'found', route, params };
      // HEAD is GET without a body; Node drops the body of a HEAD response by itself.
      if (method === 'HEAD' && route.method === 'GET') fallback ??= { route, params };
      allowed.add(route.method);
    }
    if (fallback) return { kind: 'found', ...fallback };
    if (allowed.size === 0) return { kind: 'not_found' };
    if (allowed.has('GET')) allowed.add('HEAD');
    return { kind: 'method_not_allowed', allowed: [...allowed].sort() };
  }
}

/**
 * Routes match the path as sent, not a normalised one: `/a/../b` must not quietly become `/b`
 * on its way to a handler that reads the raw URL (the object store signs the raw path).
 */
function splitTarget(target: string): { path: string; query: URLSearchParams } {
  const { path, rawQuery } = splitRequestTarget(target);
  return { path, query: new URLSearchParams(rawQuery) };
}

function parsePattern(pattern: string): Segment[] {
  if (!pattern.startsWith('/')) throw new Error(`Route pattern must start with /: ${pattern}`);
  const segments = pattern.split('/').slice(1).map((part): Segment => {
    const param = /^\{([A-Za-z_][A-Za-z0-9_]*)(\+?)\}$/.exec(part);
    return param ? { param: param[1] as string, greedy: param[2] === '+' } : { literal: part };
  });
  if (segments.slice(0, -1).some((s) => 'greedy' in s && s.greedy)) throw new Error(`Greedy parameter must come last: ${pattern}`);
  return segments;
}

/** Null when the path does not match; parameters that do not decode do not match either. */
function matchSegments(pattern: Segment[], path: string[]): Record<string, string> | null {
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i += 1) {
    const segment = pattern[i] as Segment;
    if ('literal' in segment) {
      if (path[i] !== segment.literal) return null;
      continue;
    }
    const raw = segment.greedy ? path.slice(i).join('/') : path[i];
    if (raw === undefined || raw === '') return null;
    const decoded = safeDecode(raw);
    if (decoded === null) return null;
    params[segment.param] = decoded;
    if (segment.greedy) return params;
  }
  return path.length === pattern.length ? params : null;
}

function safeDecode(value: string): string | null {
  try {
    return decodeURIComponent(value);
  } catch {
    return null;
  }
}
