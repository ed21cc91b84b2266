import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../local/config';
import { createLogger } from '../../local/logger';
import { startLocalService, type LocalService } from '../../local/service';
import type { ObjectCreatedEvent } from '../../src/adapters/local/local-object-store';

const logger = createLogger('SILENT');

describe('the local service', () => {
  let dataDir: string;
  let service: LocalService | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'untxt-service-'));
  });

  afterEach(async () => {
    await service?.stop();
    service = undefined;
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  function start(options: { onObjectCreated?: (event: ObjectCreatedEvent) => void } = {}): Promise<LocalService> {
    return startLocalService(loadConfig({ PORT: '0', UNTXT_DATA_DIR: dataDir }), { logger, ...options });
  }

  it('starts on a free port and reports every part healthy', async () => {
    // Prepare
    service = await start();

    // Act
    const response = await fetch(service.healthUrl);

    // Assess
    expect(service.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(service.apiUrl).toBe(`${service.url}/v1`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: 'ok',
      parts: {
        database: { status: 'ok', kind: 'pglite' },
        objectStore: { status: 'ok', kind: 'local-disk' },
        jobsQueue: { status: 'ok', kind: 'in-process', depth: { visible: 0, inFlight: 0, delayed: 0 } },
        intakeQueue: { status: 'ok', kind: 'in-process', depth: { visible: 0, inFlight: 0, delayed: 0 } },
        eventBus: { status: 'ok', kind: 'in-process', subscribers: 1 },
      },
    });
  });

  it('answers an unknown API route with a 404 problem', async () => {
    // Prepare
    service = await start();

    // Act
    const response = await fetch(`${service.apiUrl}/no-such-thing`);

    // Assess
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await response.json()).toMatchObject({ status: 404, code: 'not_found' });
  });

  it('reports itself degraded with 503 when a part stops answering', async () => {
    // Prepare
    service = await start();
    service.intakeQueue.approximateDepth = () => Promise.reject(new Error('broken'));

    // Act
    const response = await fetch(service.healthUrl);

    // Assess
    expect(response.status).toBe(503);
    const report = (await response.json()) as { status: string; parts: Record<string, { status: string; error?: string }> };
    expect(report.status).toBe('degraded');
    expect(report.parts.intakeQueue).toEqual({ status: 'error', kind: 'in-process', error: 'unavailable' });
    expect(report.parts.database?.status).toBe('ok');
  });

  it('keeps uploads and database rows across a stop and a start on the same data folder', async () => {
    // Prepare
    const created: ObjectCreatedEvent[] = [];
    service = await start({ onObjectCreated: (event) => void created.push(event) });
    const key = `uploads/${randomUUID()}/2026-01/${randomUUID()}/original.pdf`;
    const body = Buffer.from('%PDF-1.7 kept across restarts');
    const upload = await service.objectStore.presignPut({
      key,
      contentType: 'application/pdf',
      contentLength: body.byteLength,
      sha256Hex: createHash('sha256').update(body).digest('hex'),
      expiresInSeconds: 300,
    });
    const putResponse = await fetch(upload.url, { method: 'PUT', headers: upload.headers, body });
    const objectStoreUrl = service.objectStoreUrl;
    const email = `${randomUUID()}@example.com`;
    await service.database.query('INSERT INTO users (email, password_hash) VALUES ($1, $2)', [email, 'scrypt$test']);

    // Act
    await service.stop();
    service = await start();

    // Assess
    expect(putResponse.status).toBe(200);
    expect(upload.url.startsWith(`${objectStoreUrl}/untxt-documents/uploads/`)).toBe(true);
    expect(created.map((event) => event.key)).toEqual([key]);
    expect(await service.objectStore.getAttributes(key)).toMatchObject({
      size: body.byteLength,
      sha256Hex: createHash('sha256').update(body).digest('hex'),
    });
    const { rows } = await service.database.query<{ email: string }>('SELECT email FROM users WHERE email = $1', [email]);
    expect(rows).toEqual([{ email }]);
  });

  it('waits for a running object-created hook before closing the database', async () => {
    // Prepare: a hook that is still busy, and uses the database, when stop() is called
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let hookResult: unknown;
    const running = await startLocalService(loadConfig({ PORT: '0', UNTXT_DATA_DIR: dataDir }), {
      logger,
      onObjectCreated: async () => {
        await gate;
        hookResult = (await running.database.query<{ one: number }>('SELECT 1 AS one')).rows;
      },
    });
    await running.objectStore.put({ key: `uploads/u/${randomUUID()}/original.pdf`, body: 'x', contentType: 'application/pdf' });
    await new Promise((resolve) => setImmediate(resolve));
    // Act: give stop() the time it would need to close everything if it did not wait
    const stopped = running.stop();
    const stoppedEarly = await Promise.race([stopped.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 300))]);
    release();
    await stopped;
    // Assess
    expect(stoppedEarly).toBe(false);
    expect(hookResult).toEqual([{ one: 1 }]);
  });

  it('can be stopped twice without failing', async () => {
    // Prepare
    service = await start();

    // Act
    const stops = Promise.all([service.stop(), service.stop()]);

    // Assess
    await expect(stops).resolves.toBeDefined();
    await expect(fetch(service.healthUrl)).rejects.toThrow();
  });
});
