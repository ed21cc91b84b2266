/** A pipeline on PGlite with in-memory object store, queues and bus, for the pipeline and worker tests. */
import { createHash } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { InMemoryJobQueue } from '../../../src/adapters/local/in-memory-job-queue';
import { systemClock } from '../../../src/adapters/clock';
import { createFileAndTask, findTaskById } from '../../../src/db/repositories/tasks';
import { createUser } from '../../../src/db/repositories/users';
import type { Queryable } from '../../../src/db/database';
import type { TaskRecord } from '../../../src/domain/task';
import type { EventBus, TaskStatusEventDetail } from '../../../src/ports/event-bus';
import {
  InvalidRangeError,
  type ByteRange,
  type DeleteTarget,
  type GetObjectOutput,
  type ObjectAttributes,
  type ObjectStore,
  type PutObjectInput,
  type PutObjectOutput,
} from '../../../src/ports/object-store';
import { DEFAULT_INTAKE_LIMITS, type IntakeDeps } from '../../../src/pipeline/intake';
import { openTestPglite, type TestDatabase } from '../../support/test-databases';

export class MemoryObjectStore implements ObjectStore {
  readonly objects = new Map<string, { body: Uint8Array; contentType: string; sha256Hex: string }>();
  readonly reads: Array<{ key: string; range?: ByteRange }> = [];

  async put(input: PutObjectInput): Promise<PutObjectOutput> {
    const body = typeof input.body === 'string' ? new Uint8Array(Buffer.from(input.body)) : input.body;
    const sha256Hex = createHash('sha256').update(body).digest('hex');
    this.objects.set(input.key, { body, contentType: input.contentType, sha256Hex });
    return { versionId: null, size: body.byteLength, sha256Hex };
  }

  async get(key: string, options: { range?: ByteRange } = {}): Promise<GetObjectOutput | null> {
    this.reads.push({ key, ...(options.range ? { range: options.range } : {}) });
    const o = this.objects.get(key);
    if (!o) return null;
    let body = o.body;
    if (options.range) {
      if (options.range.start >= body.byteLength) throw new InvalidRangeError();
      body = body.subarray(options.range.start, (options.range.end ?? body.byteLength - 1) + 1);
    }
    return { body, contentType: o.contentType, totalSize: o.body.byteLength, versionId: null };
  }

  async getAttributes(key: string): Promise<ObjectAttributes | null> {
    const o = this.objects.get(key);
    return o ? { size: o.body.byteLength, sha256Hex: o.sha256Hex, versionId: null, lastModified: new Date() } : null;
  }

  async deleteAllVersions(target: DeleteTarget): Promise<{ deleted: number }> {
    let deleted = 0;
    for (const key of [...this.objects.keys()]) {
      if ('key' in target ? key === target.key : key.startsWith(target.prefix)) {
        this.objects.delete(key);
        deleted += 1;
      }
    }
    return { deleted };
  }

  async presignPut(): Promise<never> {
    throw new Error('not used');
  }

  async presignGet(): Promise<never> {
    throw new Error('not used');
  }

  keys(prefix: string): string[] {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
}

export class RecordingBus implements EventBus {
  readonly events: TaskStatusEventDetail[] = [];
  async publish(detail: TaskStatusEventDetail): Promise<void> {
    this.events.push(detail);
  }
  statuses(taskId: string): string[] {
    return this.events.filter((e) => e.taskId === taskId).map((e) => e.status);
  }
}

export const silentLogger = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

/** Intake's dependencies on the given stores, with the system clock, a silent logger and the default limits. */
export function intakeDepsOn(stores: Pick<IntakeDeps, 'db' | 'objects' | 'jobs' | 'events'>, overrides: Partial<IntakeDeps> = {}): IntakeDeps {
  return { clock: systemClock, logger: silentLogger, limits: DEFAULT_INTAKE_LIMITS, ...stores, ...overrides };
}

/** Moves a task's timestamps back, as if it had not changed for `minutes` (the sweeper's view). */
export async function ageTask(db: Queryable, taskId: string, minutes: number): Promise<void> {
  await db.query(
    `UPDATE tasks SET created_at = date_trunc('milliseconds', now() - make_interval(mins => $2)),
                      updated_at = date_trunc('milliseconds', now() - make_interval(mins => $2))
     WHERE id = $1`,
    [taskId, minutes],
  );
}

export interface PipelineHarness {
  database: TestDatabase;
  objects: MemoryObjectStore;
  jobs: InMemoryJobQueue;
  deadJobs: InMemoryJobQueue;
  bus: RecordingBus;
  userId: string;
  intakeDeps(overrides?: Partial<IntakeDeps>): IntakeDeps;
  /** Creates a task for `bytes` (declared as given) and, unless `upload: false`, stores the object. */
  createTask(bytes: Uint8Array, options?: { contentType?: string; upload?: boolean; declaredSize?: number; declaredSha256?: string; maxAttempts?: number }): Promise<{ task: TaskRecord; key: string }>;
  task(id: string): Promise<TaskRecord>;
  dispose(): Promise<void>;
}

export async function pipelineHarness(queueOptions: { maxReceiveCount?: number } = {}): Promise<PipelineHarness> {
  const database = await openTestPglite();
  const db = database.db;
  const user = await createUser(db, { email: `p-${randomUUID()}@example.com`, passwordHash: 'x' });
  const objects = new MemoryObjectStore();
  const deadJobs = new InMemoryJobQueue();
  const jobs = new InMemoryJobQueue({ visibilityTimeoutSeconds: 60, maxReceiveCount: queueOptions.maxReceiveCount ?? 20, deadLetterQueue: deadJobs });
  const bus = new RecordingBus();
  return {
    database,
    objects,
    jobs,
    deadJobs,
    bus,
    userId: user.id,
    intakeDeps: (overrides = {}) => intakeDepsOn({ db, objects, jobs, events: bus }, overrides),
    async createTask(bytes, options = {}) {
      const created = await createFileAndTask(db, {
        ownerId: user.id,
        originalName: 'scan',
        contentType: options.contentType ?? 'application/pdf',
        size: options.declaredSize ?? bytes.byteLength,
        sha256: options.declaredSha256 ?? createHash('sha256').update(bytes).digest('hex'),
        ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
      });
      if (options.upload !== false) await objects.put({ key: created.file.s3Key, body: bytes, contentType: created.file.contentType });
      return { task: created.task, key: created.file.s3Key };
    },
    async task(id) {
      const t = await findTaskById(db, id);
      if (!t) throw new Error('task not found');
      return t;
    },
    async dispose() {
      jobs.close();
      deadJobs.close();
      await database.dispose();
    },
  };
}
