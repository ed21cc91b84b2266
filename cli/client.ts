/**
 * HTTP to the untxt API: bearer tokens from the credential store, refreshed silently shortly
 * before they expire and once after a 401; problem+json answers turned into CliErrors with the
 * service's code and detail and an exit code per status.
 */
import { CliError, EXIT, exitCodeForStatus } from './exit-codes';
import type { CredentialStore, StoredSession } from './credentials';

/** Refresh an access token this close to its expiry rather than have a request refused. */
export const REFRESH_MARGIN_MS = 60_000;

export interface TokenResponse {
  accessToken: string;
  refreshToken: string;
  tokenType: string;
  expiresIn: number;
}

export interface ClientOptions {
  endpoint: string;
  store: CredentialStore;
  fetch?: typeof fetch;
  now?: () => number;
}

export interface RequestOptions {
  body?: unknown;
  /** Send the stored access token (default); public routes say false. */
  auth?: boolean;
  /** Statuses the caller handles itself instead of an error. */
  accept?: number[];
}

export class ApiClient {
  readonly endpoint: string;
  private readonly store: CredentialStore;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;

  constructor(options: ClientOptions) {
    this.endpoint = options.endpoint;
    this.store = options.store;
    this.fetchImpl = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
  }

  /** A JSON request to `${endpoint}${path}`; resolves with the response when it is 2xx or accepted. */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    if (options.auth === false) return this.checked(await this.send(method, path, options.body), options.accept);
    let session = await this.session();
    if (Date.parse(session.accessExpiresAt) - this.now() < REFRESH_MARGIN_MS) session = await this.refresh(session);
    let response = await this.send(method, path, options.body, session.accessToken);
    if (response.status === 401) {
      await response.body?.cancel();
      session = await this.refresh(session);
      response = await this.send(method, path, options.body, session.accessToken);
    }
    return this.checked(response, options.accept);
  }

  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.request(method, path, options);
    return (await response.json()) as T;
  }

  /** Stores a fresh login's tokens for this endpoint. */
  async remember(tokens: TokenResponse, email?: string): Promise<void> {
    await this.store.withLock(() => this.store.set(this.endpoint, this.toSession(tokens, email)));
  }

  async forget(): Promise<boolean> {
    return this.store.withLock(() => this.store.delete(this.endpoint));
  }

  async session(): Promise<StoredSession> {
    const session = await this.store.get(this.endpoint);
    if (!session) throw new CliError(`not logged in at ${this.endpoint}: run untxt login`, EXIT.auth, 'not_logged_in');
    return session;
  }

  /** A GET of a presigned URL (no token: the URL is the authorization). */
  async fetchPresigned(url: string): Promise<Buffer> {
    const response = await this.fetchOrThrow(url, { method: 'GET' });
    if (!response.ok) throw await objectStoreError(response, 'download');
    return Buffer.from(await response.arrayBuffer());
  }

  /** A PUT of a document to its presigned URL with exactly the headers the service signed. */
  async upload(url: string, method: string, headers: Record<string, string>, body: Uint8Array): Promise<void> {
    const response = await this.fetchOrThrow(url, { method, headers, body });
    if (!response.ok) throw await objectStoreError(response, 'upload');
    await response.body?.cancel();
  }

  /**
   * Rotates the refresh token under the store's lock. When another process rotated it meanwhile,
   * its tokens are used instead: presenting the old one again would end the session.
   */
  private refresh(used: StoredSession): Promise<StoredSession> {
    return this.store.withLock(async () => {
      const current = await this.store.get(this.endpoint);
      if (!current) throw new CliError(`not logged in at ${this.endpoint}: run untxt login`, EXIT.auth, 'not_logged_in');
      if (current.refreshToken !== used.refreshToken) return current;
      const response = await this.send('POST', '/v1/auth/refresh', { refreshToken: current.refreshToken });
      if (response.status === 401) {
        await response.body?.cancel();
        await this.store.delete(this.endpoint);
        throw new CliError(`the session at ${this.endpoint} has ended: run untxt login`, EXIT.auth, 'session_ended');
      }
      const tokens = (await (await this.checked(response)).json()) as TokenResponse;
      const next = this.toSession(tokens, current.email);
      await this.store.set(this.endpoint, next);
      return next;
    });
  }

  private toSession(tokens: TokenResponse, email: string | undefined): StoredSession {
    return {
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken,
      accessExpiresAt: new Date(this.now() + tokens.expiresIn * 1000).toISOString(),
      ...(email !== undefined ? { email } : {}),
    };
  }

  private send(method: string, path: string, body: unknown, token?: string): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    return this.fetchOrThrow(`${this.endpoint}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      // Result downloads may redirect to a presigned URL: followed by hand, without the token.
      redirect: 'manual',
    });
  }

  private async fetchOrThrow(url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetchImpl(url, { ...init, signal: AbortSignal.timeout(120_000) });
    } catch (error) {
      throw new CliError(`cannot reach ${new URL(url).origin}: ${networkReason(error)}`, EXIT.unavailable, 'network');
    }
  }

  private async checked(response: Response, accept: number[] = []): Promise<Response> {
    if (response.ok || accept.includes(response.status)) return response;
    throw await problemError(response);
  }
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return cause.code;
  if (error instanceof Error && error.name === 'TimeoutError') return 'timed out';
  return cause?.message ?? (error instanceof Error ? error.message : String(error));
}

interface Problem {
  code?: string;
  title?: string;
  detail?: string;
  errors?: Array<{ field?: string; message?: string }>;
}

/** A problem+json answer as one readable message: `code: detail`, then one line per field. */
export async function problemError(response: Response): Promise<CliError> {
  const text = await response.text().catch(() => '');
  let problem: Problem = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object') problem = parsed as Problem;
  } catch {
    // Not JSON (a proxy's error page): the status says enough.
  }
  const code = typeof problem.code === 'string' ? problem.code : `http_${response.status}`;
  const detail = problem.detail ?? problem.title ?? response.statusText ?? `HTTP ${response.status}`;
  const fields = Array.isArray(problem.errors)
    ? problem.errors.map((e) => `\n  - ${e.field ?? '(request)'}: ${e.message ?? 'is invalid'}`).join('')
    : '';
  const retry = response.headers.get('retry-after');
  const retryNote = retry && response.status === 429 ? ` (retry after ${retry} s)` : '';
  return new CliError(`${code}: ${detail}${retryNote}${fields}`, exitCodeForStatus(response.status), code);
}

/** The object store answers S3's XML errors: `<Code>` and `<Message>`. */
async function objectStoreError(response: Response, what: 'upload' | 'download'): Promise<CliError> {
  const text = await response.text().catch(() => '');
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? `http_${response.status}`;
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? `HTTP ${response.status}`;
  const exit = response.status >= 500 ? EXIT.unavailable : EXIT.refused;
  return new CliError(`${what} refused by the object store: ${code}: ${message}`, exit, code);
}
