import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';

/** RFC 9457 problem details, with the machine-readable `code` clients switch on. */
export interface Problem {
  status: number;
  code: string;
  detail?: string;
  /** Extra members, e.g. the allowed methods. Never stack traces or internal messages. */
  extensions?: Record<string, unknown>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  send(res, status, 'application/json', JSON.stringify(body), headers);
}

export function sendProblem(res: ServerResponse, problem: Problem, headers: Record<string, string> = {}): void {
  const body = {
    type: 'about:blank',
    title: STATUS_CODES[problem.status] ?? 'Error',
    status: problem.status,
    code: problem.code,
    ...(problem.detail ? { detail: problem.detail } : {}),
    ...problem.extensions,
  };
  send(res, problem.status, 'application/problem+json', JSON.stringify(body), headers);
}

function send(res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string>): void {
  res.writeHead(status, {
    'Content-Type': `${contentType}; charset=utf-8`,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(body);
}
