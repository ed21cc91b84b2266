import { ECSClient, UpdateTaskProtectionCommand } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { EcsScaleInProtection, ProtectionHolder, scaleInProtectionFromEnv, noScaleInProtection } from '../../inference-container/src/scale-in-protection';

const METADATA_URI = 'http://169.254.170.2/v4/container-id';
const TASK_ARN = 'arn:aws:ecs:eu-central-1:123456789012:task/untxt/0123456789abcdef';

describe('ECS scale-in protection', () => {
  const ecs = mockClient(ECSClient);
  let fetchMock: jest.SpiedFunction<typeof fetch>;

  beforeEach(() => {
    ecs.reset();
    ecs.on(UpdateTaskProtectionCommand).resolves({ protectedTasks: [], failures: [] });
    fetchMock = jest.spyOn(globalThis, 'fetch').mockImplementation(async () => Response.json({ Cluster: 'untxt', TaskARN: TASK_ARN }));
  });
  afterEach(() => fetchMock.mockRestore());

  const protectionCalls = () => ecs.commandCalls(UpdateTaskProtectionCommand).map((c) => c.args[0].input);

  it('protects its own task, found through the metadata endpoint, for expiresInMinutes and unprotects it without an expiry', async () => {
    // Prepare
    const adapter = new EcsScaleInProtection(new ECSClient({ region: 'eu-central-1' }), METADATA_URI, 90);

    // Act
    await adapter.set(true);
    await adapter.set(false);

    // Assess
    expect(protectionCalls()).toEqual([
      { cluster: 'untxt', tasks: [TASK_ARN], protectionEnabled: true, expiresInMinutes: 90 },
      { cluster: 'untxt', tasks: [TASK_ARN], protectionEnabled: false },
    ]);
    expect(fetchMock.mock.calls.map(([url]) => String(url))).toEqual([`${METADATA_URI}/task`]);
  });

  it('looks its task up again after a failed look-up instead of failing for ever', async () => {
    // Prepare
    fetchMock.mockResolvedValueOnce(new Response('unavailable', { status: 503 }));
    const adapter = new EcsScaleInProtection(new ECSClient({ region: 'eu-central-1' }), METADATA_URI);

    // Act
    const first = await adapter.set(true).then(
      () => 'protected',
      (error: unknown) => String(error),
    );
    await adapter.set(true);

    // Assess
    expect(first).toMatch(/503/);
    expect(protectionCalls()).toEqual([{ cluster: 'untxt', tasks: [TASK_ARN], protectionEnabled: true, expiresInMinutes: 120 }]);
  });

  it('holds protection from the first of overlapping jobs until the last one ends', async () => {
    // Prepare
    const errors: unknown[] = [];
    const holder = new ProtectionHolder(new EcsScaleInProtection(new ECSClient({ region: 'eu-central-1' }), METADATA_URI), (e) => errors.push(e));

    // Act: job A starts, job B starts, A ends, B ends, then job C runs alone.
    await holder.acquire();
    await holder.acquire();
    await holder.release();
    const whileBRuns = protectionCalls().map((c) => c.protectionEnabled);
    await holder.release();
    await holder.acquire();
    await holder.release();

    // Assess
    expect(whileBRuns).toEqual([true]);
    expect(protectionCalls().map((c) => c.protectionEnabled)).toEqual([true, false, true, false]);
    expect(errors).toEqual([]);
  });

  it('reports a refused protection change without failing the job, and applies the state current when it runs', async () => {
    // Prepare
    ecs.on(UpdateTaskProtectionCommand).rejectsOnce(new Error('throttled')).resolves({});
    const errors: unknown[] = [];
    const holder = new ProtectionHolder(new EcsScaleInProtection(new ECSClient({ region: 'eu-central-1' }), METADATA_URI), (e) => errors.push(e));

    // Act: acquire and release without waiting in between, as racing jobs would.
    const calls = [holder.acquire(), holder.release()];
    await Promise.all(calls);

    // Assess
    expect(errors.map(String)).toEqual(['Error: throttled']);
    expect(protectionCalls().map((c) => c.protectionEnabled)).toEqual([false, false]);
  });

  it('uses the ECS adapter only where the metadata endpoint is set', () => {
    // Act
    const onEcs = scaleInProtectionFromEnv({ ECS_CONTAINER_METADATA_URI_V4: METADATA_URI });
    const elsewhere = scaleInProtectionFromEnv({});

    // Assess
    expect(onEcs).toBeInstanceOf(EcsScaleInProtection);
    expect(elsewhere).toBe(noScaleInProtection);
  });
});
