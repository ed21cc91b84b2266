import { randomUUID } from 'node:crypto';
import { completedTask } from './tasks/task-harness';
import { account, authorized, startService, type Account, type RunningService } from './tasks/local-service';

/**
 * Broken object-level authorization, through the local server (real HTTP, the authorizer core,
 * the handlers' entry files, PGlite): two users, every task route, five kinds of id. Only the
 * owner of a live task succeeds; everything else is a 404 whose body differs from every other
 * 404 only in the request id.
 */

type Probe = { route: string; method: 'GET' | 'DELETE'; path: (id: string) => string };

const PROBES: Probe[] = [
  { route: 'get task', method: 'GET', path: (id) => `/tasks/${id}` },
  { route: 'result html', method: 'GET', path: (id) => `/tasks/${id}/result?format=html` },
  { route: 'result text', method: 'GET', path: (id) => `/tasks/${id}/result?format=text` },
  { route: 'result json', method: 'GET', path: (id) => `/tasks/${id}/result?format=json` },
  { route: 'page image', method: 'GET', path: (id) => `/tasks/${id}/pages/1/image` },
  { route: 'delete task', method: 'DELETE', path: (id) => `/tasks/${id}` },
];

/** The problem body without what differs per request. */
function comparable(body: string): Record<string, unknown> {
  const { requestId: _r, instance: _i, ...rest } = JSON.parse(body) as Record<string, unknown>;
  return rest;
}

describe('object-level authorization of the task routes', () => {
  let running: RunningService;
  let alice: Account;
  let bob: Account;
  let aliceTask: string;
  let aliceDeleted: string;
  let bobTask: string;
  const notFoundBodies: Array<{ label: string; body: Record<string, unknown>; contentType: string | null }> = [];

  beforeAll(async () => {
    running = await startService();
    const { service } = running;
    [alice, bob] = [await account(service, 'alice'), await account(service, 'bob')];
    const parts = { deps: { db: service.database }, store: service.objectStore };
    aliceTask = (await completedTask(parts, alice.userId)).taskId;
    aliceDeleted = (await completedTask(parts, alice.userId)).taskId;
    bobTask = (await completedTask(parts, bob.userId)).taskId;
    const deleted = await fetch(`${service.apiUrl}/tasks/${aliceDeleted}`, authorized(alice.token, { method: 'DELETE' }));
    expect(deleted.status).toBe(204);
  });

  afterAll(() => running.stop());

  const call = (probe: Probe, id: string, who: Account) =>
    fetch(`${running.service.apiUrl}${probe.path(id)}`, authorized(who.token, { method: probe.method, redirect: 'manual' }));

  const ids = (): Array<[string, () => string]> => [
    ["another user's task", () => bobTask],
    ['a random uuid', () => randomUUID()],
    ['a malformed id', () => 'not-a-task-id'],
    ['an upper-case random uuid', () => randomUUID().toUpperCase()],
    ['a deleted task of the caller', () => aliceDeleted],
  ];

  for (const probe of PROBES) {
    describe(probe.route, () => {
      it.each(ids())('answers 404 for %s', async (label, id) => {
        // Act
        const response = await call(probe, id(), alice);

        // Assess
        expect(response.status).toBe(404);
        notFoundBodies.push({ label: `${probe.route}: ${label}`, body: comparable(await response.text()), contentType: response.headers.get('content-type') });
      });

      it("answers 404 for the caller's task to the other user", async () => {
        // Act
        const response = await call(probe, aliceTask, bob);

        // Assess
        expect(response.status).toBe(404);
        notFoundBodies.push({ label: `${probe.route}: other user`, body: comparable(await response.text()), contentType: response.headers.get('content-type') });
      });
    });
  }

  it('lets the owner read the task, every result format and the page image', async () => {
    // Act
    const statuses = await Promise.all(PROBES.filter((p) => p.method === 'GET').map(async (p) => (await call(p, aliceTask, alice)).status));

    // Assess
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
  });

  it('lists only the caller\'s live tasks', async () => {
    // Act
    const aliceList = (await (await fetch(`${running.service.apiUrl}/tasks`, authorized(alice.token))).json()) as { items: Array<{ id: string }> };
    const bobList = (await (await fetch(`${running.service.apiUrl}/tasks`, authorized(bob.token))).json()) as { items: Array<{ id: string }> };

    // Assess
    expect(aliceList.items.map((t) => t.id)).toEqual([aliceTask]);
    expect(bobList.items.map((t) => t.id)).toEqual([bobTask]);
  });

  it('makes every 404 byte-identical apart from the request id', () => {
    // Assess
    expect(notFoundBodies).toHaveLength(PROBES.length * 6);
    const [first] = notFoundBodies;
    for (const entry of notFoundBodies) {
      expect({ label: entry.label, body: entry.body, contentType: entry.contentType }).toEqual({ label: entry.label, body: first!.body, contentType: 'application/problem+json' });
    }
  });

  it('lets the owner delete their task, after which it is 404 like the rest', async () => {
    // Act
    const deleted = await call(PROBES.find((p) => p.method === 'DELETE')!, aliceTask, alice);
    const after = await call(PROBES[0]!, aliceTask, alice);

    // Assess
    expect(deleted.status).toBe(204);
    expect(after.status).toBe(404);
    expect(comparable(await after.text())).toEqual(notFoundBodies[0]!.body);
    // Bob's task was probed by every route above and is untouched.
    expect((await call(PROBES[0]!, bobTask, bob)).status).toBe(200);
  });
});
