import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { Logger } from '@aws-lambda-powertools/logger';
import { systemClock } from '../src/adapters/clock';
import { errorSummary } from '../src/adapters/error-summary';
import { InMemoryJobQueue } from '../src/adapters/local/in-memory-job-queue';
import { InProcessEventBus } from '../src/adapters/local/in-process-event-bus';
import { loadOrCreateLocalCredentials } from '../src/adapters/local/local-credentials';
import { LOCAL_REGION, LocalObjectStore, type ObjectCreatedEvent } from '../src/adapters/local/local-object-store';
import { createLocalS3Handler } from '../src/adapters/local/s3-http-handler';
import { PresignedUrlVerifier } from '../src/adapters/local/sigv4-verifier';
import type { Database } from '../src/db/database';
import { runMigrations } from '../src/db/migrate';
import { InMemoryConnectionStore } from '../src/realtime/memory-connection-store';
import { startLocalApi, type MountedApi } from './api';
import { objectCreatedNotification } from '../src/pipeline/messages';
import type { LocalConfig } from './config';
import type { LocalPipelineDeps } from './pipeline';
import { healthHandler, type HealthCheck } from './health';
import { createLogger } from './logger';
import { Router } from './router';
import { closeServer, createHttpServer, listen } from './server';
import { mountWebApp, WEB_PATH } from './web';
import { attachLocalWebSocket, WEBSOCKET_PATH, type LocalWebSocket } from './websocket';

/** The documents bucket's name in local mode (AWS names it per stack). */
export const LOCAL_DOCUMENTS_BUCKET = 'untxt-documents';
/**
 * The object store shares the API's port under this prefix. One port is one thing to open,
 * forward or configure; the SDK keeps an endpoint's path when presigning path-style, and the
 * prefix is part of the signed path, so URLs still verify exactly as they would against S3.
 */
export const OBJECT_STORE_MOUNT = '/s3';

export interface LocalServiceOptions {
  logger?: Logger;
  /** Like an S3 event notification; the intake wiring plugs in here. */
  onObjectCreated?: (event: ObjectCreatedEvent) => void | Promise<void>;
  /** Runs intake, the sweeper and the worker (Tesseract) in-process, as `npm start` does. */
  pipeline?: boolean | Omit<LocalPipelineDeps, 'db' | 'objects' | 'intakeQueue' | 'jobsQueue' | 'events' | 'logger'>;
}

export interface LocalService {
  /** `http://127.0.0.1:<port>` (or the configured public URL). */
  url: string;
  apiUrl: string;
  /** The web page (web/), at /app/. */
  webUrl: string;
  healthUrl: string;
  objectStoreUrl: string;
  config: LocalConfig;
  database: Database;
  objectStore: LocalObjectStore;
  intakeQueue: InMemoryJobQueue;
  intakeDeadLetterQueue: InMemoryJobQueue;
  jobsQueue: InMemoryJobQueue;
  jobsDeadLetterQueue: InMemoryJobQueue;
  eventBus: InProcessEventBus;
  /** Later features mount their handlers here. */
  router: Router;
  /** The API routes (lambdas/api/routes.ts) and the dependencies they run with. */
  api: MountedApi;
  /** The WebSocket endpoint at /ws (ticket handshake, task status messages). */
  websocket: LocalWebSocket;
  logger: Logger;
  /** Closes the server, queues, bus and database; safe to call more than once. */
  stop(): Promise<void>;
}

/**
 * Composes local mode: database (PGlite under `<dataDir>/pgdata`, or DATABASE_URL) with
 * migrations applied, the on-disk object store, the in-process queues and bus, and one HTTP
 * server. Resolves once the server listens; on any failure it releases what it had opened.
 */
export async function startLocalService(config: LocalConfig, options: LocalServiceOptions = {}): Promise<LocalService> {
  const logger = options.logger ?? createLogger();
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const cleanup: Array<() => Promise<void>> = [];
  try {
    const database = await openDatabase(config);
    cleanup.push(() => database.close());
    const { applied } = await runMigrations(database);
    if (applied.length > 0) logger.info('Applied database migrations', { migrations: applied });

    const queues = createQueues();
    const objectsDir = join(config.dataDir, 'objects');
    const credentials = await loadOrCreateLocalCredentials(objectsDir);
    let baseUrl = '';
    const objectStore = new LocalObjectStore({
      rootDir: objectsDir,
      bucket: LOCAL_DOCUMENTS_BUCKET,
      credentials,
      endpoint: () => `${baseUrl}${OBJECT_STORE_MOUNT}`,
      logger,
      // By default an upload notifies the intake queue, shaped as S3 would send it.
      onObjectCreated:
        options.onObjectCreated ??
        (async (event) => {
          await queues.intakeQueue.send(objectCreatedNotification(event));
        }),
    });
    await objectStore.init();

    const eventBus = new InProcessEventBus(logger);
    cleanup.push(async () => {
      for (const queue of Object.values(queues)) queue.close();
      await eventBus.close();
    });
    // Runs after the server has closed (no new uploads) and before the bus, queues and database
    // close: an object-created hook still running (intake) needs all three.
    cleanup.push(() => objectStore.settleNotifications());

    const router = new Router(logger);
    router.on('GET', '/health', healthHandler(healthChecks(database, objectStore, queues, eventBus)));
    const s3Handler = createLocalS3Handler({
      mountPath: OBJECT_STORE_MOUNT,
      stores: [objectStore],
      verifier: new PresignedUrlVerifier(credentials, LOCAL_REGION),
      maxObjectBytes: config.maxUploadBytes,
      logger,
    });
    router.on('ANY', `${OBJECT_STORE_MOUNT}/{proxy+}`, ({ req, res }) => s3Handler(req, res));
    mountWebApp(router, { publicUrl: () => baseUrl });
    // One store for the API and /ws: what disable-user deletes is what the local notifier reads.
    const connections = new InMemoryConnectionStore(systemClock);
    const api = await startLocalApi(router, {
      dataDir: config.dataDir,
      db: database,
      objectStore,
      eventBus,
      logger,
      registrationMode: config.registrationMode,
      maxUploadBytes: config.maxUploadBytes,
      connections,
    });

    const server: Server = createHttpServer(router);
    const address = await listen(server, config.port, config.host);
    cleanup.push(() => closeServer(server));
    // Closed before the server (cleanup runs in reverse): open sockets would keep close() waiting.
    const websocket = attachLocalWebSocket({ server, tickets: api.deps.tickets, events: eventBus, clock: api.deps.clock, logger, connections });
    cleanup.push(() => websocket.close());
    baseUrl = config.publicUrl ?? `http://${displayHost(config.host)}:${address.port}`;
    // ws-ticket URLs name the WebSocket endpoint, which shares this port at /ws.
    api.deps.config.websocketUrl ??= `${baseUrl.replace(/^http/, 'ws')}${WEBSOCKET_PATH}`;

    if (options.pipeline) {
      const { startLocalPipeline } = await import('./pipeline');
      const pipeline = await startLocalPipeline({
        maxPagesPerDay: api.deps.config.limits.maxPagesPerDay,
        ...(typeof options.pipeline === 'object' ? options.pipeline : {}),
        db: database,
        objects: objectStore,
        intakeQueue: queues.intakeQueue,
        jobsQueue: queues.jobsQueue,
        events: eventBus,
        logger,
      });
      cleanup.push(() => pipeline.stop());
    }

    let stopping: Promise<void> | undefined;
    return {
      url: baseUrl,
      apiUrl: `${baseUrl}/v1`,
      webUrl: `${baseUrl}${WEB_PATH}`,
      healthUrl: `${baseUrl}/health`,
      objectStoreUrl: `${baseUrl}${OBJECT_STORE_MOUNT}`,
      config,
      database,
      objectStore,
      ...queues,
      eventBus,
      router,
      api,
      websocket,
      logger,
      stop: () => (stopping ??= runCleanup(cleanup, logger)),
    };
  } catch (error) {
    await runCleanup(cleanup, logger);
    throw error;
  }
}

async function openDatabase(config: LocalConfig): Promise<Database> {
  if (config.databaseUrl) {
    const { createPgDatabase } = await import('../src/db/pg-database');
    return createPgDatabase(config.databaseUrl);
  }
  // Imported on demand: PGlite is a large WebAssembly module that a DATABASE_URL setup never needs.
  const { openPgliteDatabase } = await import('../src/db/pglite-database');
  return openPgliteDatabase(join(config.dataDir, 'pgdata'));
}

/**
 * Intake mirrors its Lambda (120 s timeout); the worker extends visibility while it works and
 * defers messages of leased tasks, so the jobs queue tolerates many receives before redrive.
 */
function createQueues() {
  const intakeDeadLetterQueue = new InMemoryJobQueue();
  const jobsDeadLetterQueue = new InMemoryJobQueue();
  return {
    intakeDeadLetterQueue,
    intakeQueue: new InMemoryJobQueue({ visibilityTimeoutSeconds: 120, maxReceiveCount: 5, deadLetterQueue: intakeDeadLetterQueue }),
    jobsDeadLetterQueue,
    jobsQueue: new InMemoryJobQueue({ visibilityTimeoutSeconds: 300, maxReceiveCount: 20, deadLetterQueue: jobsDeadLetterQueue }),
  };
}

function healthChecks(
  database: Database,
  objectStore: LocalObjectStore,
  queues: ReturnType<typeof createQueues>,
  eventBus: InProcessEventBus,
): HealthCheck[] {
  return [
    {
      name: 'database',
      kind: database.kind,
      probe: async () => {
        await database.query('SELECT 1');
      },
    },
    { name: 'objectStore', kind: 'local-disk', probe: () => objectStore.probe() },
    { name: 'jobsQueue', kind: 'in-process', probe: async () => ({ depth: await queues.jobsQueue.approximateDepth() }) },
    { name: 'intakeQueue', kind: 'in-process', probe: async () => ({ depth: await queues.intakeQueue.approximateDepth() }) },
    {
      name: 'eventBus',
      kind: 'in-process',
      probe: async () => {
        if (!eventBus.isOpen) throw new Error('closed');
        return { subscribers: eventBus.subscriberCount };
      },
    },
  ];
}

/** Wildcard binds are reachable on loopback; a URL naming 0.0.0.0 is not one a client can use. */
function displayHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** Undoes start-up in reverse (server first, database last), running every step even when one fails. */
async function runCleanup(steps: Array<() => Promise<void>>, logger: Logger): Promise<void> {
  for (const step of steps.splice(0).reverse()) {
    try {
      await step();
    } catch (error) {
      logger.error('Shutdown step failed', { error: errorSummary(error) });
    }
  }
}
