import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendJson } from '../../local/http';
import { createLogger } from '../../local/logger';
import { Router } from '../../local/router';

describe('the local HTTP router', () => {
  let server: Server;
  let baseUrl: string;

  beforeAll(async () => {
    const router = new Router(createLogger('SILENT'))
      .on('GET', '/v1/tasks/{id}', ({ res, params }) => sendJson(res, 200, { id: params.id }))
      .on('DELETE', '/v1/tasks/{id}', ({ res }) => sendJson(res, 204, {}))
      .on('GET', '/files/{path+}', ({ res, params }) => sendJson(res, 200, { path: params.path }))
      .on('GET', '/boom', () => {
        throw new Error('secret internal detail at /srv/app/db.ts:12');
      });
    server = createServer(router.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('passes decoded path parameters to the handler of the matching route', async () => {
    // Act
    const response = await fetch(`${baseUrl}/v1/tasks/a%20b`);

    // Assess
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: 'a b' });
  });

  it('lets a greedy parameter take the rest of the path', async () => {
    // Act
    const response = await fetch(`${baseUrl}/files/a/b/c.txt`);

    // Assess
    expect(await response.json()).toEqual({ path: 'a/b/c.txt' });
  });

  it('answers an unknown route with a 404 problem', async () => {
    // Act
    const response = await fetch(`${baseUrl}/v1/nothing-here`);

    // Assess
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(await response.json()).toEqual({ type: 'about:blank', title: 'Not Found', status: 404, code: 'not_found', detail: 'No such route.' });
  });

  it('answers a known route with the wrong method with a 405 problem and the allowed methods', async () => {
    // Act
    const response = await fetch(`${baseUrl}/v1/tasks/1`, { method: 'POST', body: '{}' });

    // Assess
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('DELETE, GET, HEAD');
    expect(await response.json()).toMatchObject({ status: 405, code: 'method_not_allowed' });
  });

  it('answers HEAD with the GET route', async () => {
    // Act
    const response = await fetch(`${baseUrl}/v1/tasks/1`, { method: 'HEAD' });

    // Assess
    expect(response.status).toBe(200);
  });

  it('answers a failing handler with a 500 problem that reveals nothing of the failure', async () => {
    // Act
    const response = await fetch(`${baseUrl}/boom`);
    const text = await response.text();

    // Assess
    expect(response.status).toBe(500);
    expect(JSON.parse(text)).toMatchObject({ status: 500, code: 'internal' });
    expect(text).not.toMatch(/secret|db\.ts|at /);
  });

  it('does not resolve dot segments into another route', async () => {
    // Prepare: fetch would resolve them itself, so send the raw path.
    const { request } = await import('node:http');
    const url = new URL(baseUrl);

    // Act
    const status = await new Promise<number>((resolve, reject) => {
      request({ host: url.hostname, port: url.port, path: '/v1/x/../tasks/1' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });

    // Assess
    expect(status).toBe(404);
  });
});
