import { request } from 'node:http';
import { startService, type RunningService } from '../api/tasks/local-service';

/** A GET with a chosen Host header (fetch does not let one set it). */
function get(url: string, host?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: host ? { host } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the web page as npm start serves it', () => {
  let running: RunningService;
  let base: string;

  beforeAll(async () => {
    running = await startService();
    base = running.service.url;
  });

  afterAll(() => running.stop());

  it('sends / to /app/', async () => {
    // Act
    const response = await get(`${base}/`);

    // Assess
    expect(response.status).toBe(302);
    expect(response.headers.location).toBe('/app/');
  });

  it.each(['', 'app.js', 'app.css', 'config.json'])('serves /app/%s with the policy, nosniff and no-referrer', async (file) => {
    // Act
    const response = await get(`${base}/app/${file}`);
    const policy = String(response.headers['content-security-policy']);

    // Assess
    expect(response.status).toBe(200);
    expect(policy.split('; ')).toEqual([
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self'",
      `connect-src 'self' ${base.replace(/^http/, 'ws')}`,
      "frame-src 'none'",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ]);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['referrer-policy']).toBe('no-referrer');
  });

  it.each(['..%2Fpackage.json', '%2E%2E%2Flocal%2Fweb.ts', 'missing.js', 'index.html%00.js'])('answers 404 for /app/%s', async (file) => {
    // Act
    const response = await get(`${base}/app/${file}`);

    // Assess
    expect(response.status).toBe(404);
  });

  it('sends a page asked for as localhost to the public 127.0.0.1 address, where its URLs work', async () => {
    // Prepare
    const port = new URL(base).port;

    // Act
    const response = await get(`${base}/app/`, `localhost:${port}`);

    // Assess
    expect(response.status).toBe(308);
    expect(response.headers.location).toBe(`${base}/app/`);
  });

  it.each(['a b', '[::1'])('answers a Host header of %p with 400 problem+json, not 500', async (host) => {
    // Act
    const response = await get(`${base}/app/`, host);

    // Assess
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});
