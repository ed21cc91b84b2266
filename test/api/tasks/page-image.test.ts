import { createFileAndTask } from '../../../src/db/repositories/tasks';
import { pagePreviewKey } from '../../../src/domain/storage-keys';
import { completedTask } from './task-harness';
import { account, authorized, startService, type Account, type RunningService } from './local-service';

/** `GET /v1/tasks/{id}/pages/{page}/image` through the local server (ownership is in bola.test.ts). */
describe('the page image route', () => {
  let running: RunningService;
  let ada: Account;
  let taskId: string;

  beforeAll(async () => {
    running = await startService();
    const { service } = running;
    ada = await account(service, 'ada');
    const done = await completedTask({ deps: { db: service.database }, store: service.objectStore }, ada.userId);
    taskId = done.taskId;
    const prefix = done.keys.htmlKey.slice(0, done.keys.htmlKey.lastIndexOf('/') + 1);
    await service.objectStore.put({ key: pagePreviewKey({ prefix, page: 1 }), body: 'RIFF-webp', contentType: 'image/webp' });
  });

  afterAll(() => running.stop());

  const get = (path: string) => fetch(`${running.service.apiUrl}${path}`, authorized(ada.token));

  it("answers a presigned GET that serves the page's preview as image/webp", async () => {
    // Act
    const response = await get(`/tasks/${taskId}/pages/1/image`);
    const { url, expiresAt } = (await response.json()) as { url: string; expiresAt: string };
    const image = await fetch(url);

    // Assess
    expect(response.status).toBe(200);
    expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now());
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/webp');
    expect(await image.text()).toBe('RIFF-webp');
  });

  it.each(['2', '0', '01', '-1', '1.5', 'one'])('answers 404 for page %s of a one-page result', async (page) => {
    // Act
    const response = await get(`/tasks/${taskId}/pages/${page}/image`);

    // Assess
    expect(response.status).toBe(404);
  });

  it('answers 409 not_ready while the task has not completed', async () => {
    // Prepare
    const { task } = await createFileAndTask(running.service.database, {
      ownerId: ada.userId,
      originalName: 'scan.png',
      contentType: 'image/png',
      size: 3,
      sha256: 'ab'.repeat(32),
    });

    // Act
    const response = await get(`/tasks/${task.id}/pages/1/image`);

    // Assess
    expect(response.status).toBe(409);
    expect(((await response.json()) as { code: string }).code).toBe('not_ready');
  });
});
