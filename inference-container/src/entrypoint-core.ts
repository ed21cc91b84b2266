/**
 * The container's entrypoint, as a core with its dependencies passed in (see entrypoint.ts for
 * the real ones): fetch the pinned weights, start vLLM on 127.0.0.1, wait until it serves the
 * model, start the worker, and tie the two processes' lives together.
 *
 * Shutdown order matters: ECS (and a Spot interruption, through the agent's draining) sends
 * SIGTERM once and SIGKILL after `stopTimeout`. The worker needs vLLM to finish the pages it
 * has in flight while it drains (≤ 90 s), so the signal goes to the worker first, and vLLM is
 * stopped only once the worker has exited; both waits come out of `STOP_BUDGET_MS`. The
 * entrypoint then exits with the worker's status.
 * If either process dies on its own, the other is stopped and the entrypoint exits non-zero, so
 * ECS replaces the task instead of keeping half of it.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { z } from 'zod';
import { DEFAULT_MAX_PAGE_PIXELS } from '../../src/pipeline/page-limits';
import { DEFAULT_FETCH_IDLE_TIMEOUT_MS, DEFAULT_FETCH_TIMEOUT_MS, WeightsError, type FetchWeightsResult } from './weights';
import { parseS3Uri } from './weights-s3';
import { DEFAULT_VLLM_GPU_MEMORY_UTILIZATION, DEFAULT_VLLM_MAX_MODEL_LEN } from './vllm-limits';

export type EntrypointLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

export interface ChildExit {
  /** Exit code, or null when the process ended by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildHandle {
  readonly pid: number | undefined;
  /** Settles once the process has exited (or failed to start, as code 127). */
  readonly exited: Promise<ChildExit>;
  /** Signals the process itself. */
  kill(signal: NodeJS.Signals): void;
  /** Signals the process and everything it started (vLLM runs engine processes of its own). */
  killTree(signal: NodeJS.Signals): void;
}

export type SpawnChild = (argv: readonly string[], options: { env: NodeJS.ProcessEnv; ownGroup: boolean }) => ChildHandle;

export interface SignalSource {
  on(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
  off(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
}

export interface EntrypointDeps {
  logger: EntrypointLogger;
  /** Fetches and verifies the weights; resolves to the folder vLLM serves. */
  fetchWeights: (signal: AbortSignal) => Promise<FetchWeightsResult>;
  spawn: SpawnChild;
  fetch: typeof fetch;
  signals: SignalSource;
  /** The environment children start from (the entrypoint's own). */
  env: NodeJS.ProcessEnv;
  now?: () => number;
  /** Time between readiness probes (default 2 s). */
  pollIntervalMs?: number;
  /** How long vLLM may take to exit after SIGTERM before SIGKILL (default `VLLM_STOP_GRACE_MS`). */
  stopGraceMs?: number;
  /** How long the worker may take to drain after SIGTERM before SIGKILL (default `WORKER_STOP_MS`). */
  workerStopMs?: number;
}

/** An optional numeric variable: blank means `fallback`; anything else must parse and be in range. */
const numberVar = (fallback: number, check: (n: number) => boolean, requirement: string) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value.trim() === '') return fallback;
      const n = Number(value.trim());
      if (Number.isFinite(n) && check(n)) return n;
      ctx.addIssue({ code: 'custom', message: requirement });
      return z.NEVER;
    });
const positiveInt = (fallback: number, max = Number.MAX_SAFE_INTEGER) =>
  numberVar(fallback, (n) => Number.isSafeInteger(n) && n >= 1 && n <= max, max === Number.MAX_SAFE_INTEGER ? 'must be a positive integer' : `must be an integer from 1 to ${max}`);

const envSchema = z.object({
  MODEL_ID: z.string().trim().min(1, 'is not set'),
  MODEL_S3_URI: z
    .string()
    .trim()
    .min(1, 'is not set')
    .refine((v) => {
      try {
        parseS3Uri(v);
        return true;
      } catch {
        return false;
      }
    }, 'must look like s3://bucket/prefix/'),
  MODEL_MANIFEST_SHA256: z
    .string()
    .trim()
    .min(1, 'is not set')
    .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex digits')
    .transform((v) => v.toLowerCase()),
  MODEL_DIR: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? '/models' : v.trim()))
    .refine((v) => v.startsWith('/'), 'must be an absolute path'),
  MODEL_DOWNLOAD_CONCURRENCY: positiveInt(4),
  MODEL_FETCH_TIMEOUT_SECONDS: positiveInt(DEFAULT_FETCH_TIMEOUT_MS / 1000),
  MODEL_FETCH_IDLE_SECONDS: positiveInt(DEFAULT_FETCH_IDLE_TIMEOUT_MS / 1000),
  VLLM_READY_TIMEOUT_SECONDS: positiveInt(900),
  VLLM_PORT: positiveInt(8000, 65535),
  VLLM_GPU_MEMORY_UTILIZATION: numberVar(DEFAULT_VLLM_GPU_MEMORY_UTILIZATION, (n) => n > 0 && n <= 1, 'must be a fraction above 0 and at most 1'),
  VLLM_MAX_MODEL_LEN: positiveInt(DEFAULT_VLLM_MAX_MODEL_LEN),
  MAX_PAGES_IN_FLIGHT: positiveInt(32),
  VLLM_MAX_NUM_SEQS: z.string().optional(),
  // The worker's own raster bound, so vLLM's processor cap and the page images agree by default.
  VLLM_MAX_PIXELS: positiveInt(DEFAULT_MAX_PAGE_PIXELS),
  VLLM_EXTRA_ARGS: z.string().optional(),
  VLLM_COMMAND: z.string().optional(),
  WORKER_COMMAND: z.string().optional(),
  VLLM_BASE_URL: z.string().optional(),
});

export interface EntrypointConfig {
  modelId: string;
  modelS3Uri: string;
  manifestSha256: string;
  modelDir: string;
  downloadConcurrency: number;
  /** The whole weights fetch must end within this (`MODEL_FETCH_TIMEOUT_SECONDS`). */
  fetchTimeoutSeconds: number;
  /** One file's download getting no bytes for this long fails the fetch (`MODEL_FETCH_IDLE_SECONDS`). */
  fetchIdleSeconds: number;
  readyTimeoutSeconds: number;
  port: number;
  gpuMemoryUtilization: number;
  maxModelLen: number;
  maxNumSeqs: number;
  maxPixels: number;
  extraArgs: string[];
  /** argv that starts vLLM; `serve …` is appended. */
  vllmCommand: string[];
  /** argv that starts the worker. */
  workerCommand: string[];
  /** What the worker is told to call (`VLLM_BASE_URL`), defaulting to this vLLM. */
  vllmBaseUrl: string;
}

/** Thrown for a bad environment; names the variables, never their values. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid environment: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Reads the entrypoint's settings. `defaultWorkerCommand` is where the worker bundle sits beside
 * this one (`node /opt/untxt/worker.js` in the image).
 */
export function entrypointConfigFromEnv(env: NodeJS.ProcessEnv, defaultWorkerCommand: readonly string[]): EntrypointConfig {
  const result = envSchema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join('.')} ${issue.code === 'invalid_type' ? 'is not set' : issue.message}`));
  }
  const e = result.data;
  const maxNumSeqs = positiveInt(e.MAX_PAGES_IN_FLIGHT).safeParse(e.VLLM_MAX_NUM_SEQS);
  if (!maxNumSeqs.success) throw new ConfigError(['VLLM_MAX_NUM_SEQS must be a positive integer']);
  const vllmCommand = words(e.VLLM_COMMAND);
  const workerCommand = words(e.WORKER_COMMAND);
  return {
    modelId: e.MODEL_ID,
    modelS3Uri: e.MODEL_S3_URI,
    manifestSha256: e.MODEL_MANIFEST_SHA256,
    modelDir: e.MODEL_DIR,
    downloadConcurrency: e.MODEL_DOWNLOAD_CONCURRENCY,
    fetchTimeoutSeconds: e.MODEL_FETCH_TIMEOUT_SECONDS,
    fetchIdleSeconds: e.MODEL_FETCH_IDLE_SECONDS,
    readyTimeoutSeconds: e.VLLM_READY_TIMEOUT_SECONDS,
    port: e.VLLM_PORT,
    gpuMemoryUtilization: e.VLLM_GPU_MEMORY_UTILIZATION,
    maxModelLen: e.VLLM_MAX_MODEL_LEN,
    maxNumSeqs: maxNumSeqs.data,
    maxPixels: e.VLLM_MAX_PIXELS,
    extraArgs: words(e.VLLM_EXTRA_ARGS),
    vllmCommand: vllmCommand.length > 0 ? vllmCommand : ['vllm'],
    workerCommand: workerCommand.length > 0 ? workerCommand : [...defaultWorkerCommand],
    vllmBaseUrl: e.VLLM_BASE_URL?.trim() || `http://127.0.0.1:${e.VLLM_PORT}/v1`,
  };
}

/** Space-separated words; no quoting (documented with VLLM_EXTRA_ARGS and the command overrides). */
function words(value: string | undefined): string[] {
  return (value ?? '').split(/\s+/).filter((w) => w !== '');
}

/** Qwen3-VL's image processor never goes below this many pixels (its `shortest_edge`). */
const QWEN3_VL_MIN_PIXELS = 65_536;

/**
 * `vllm serve` arguments. Each flag is explained in inference-container/README.md ("vLLM flags").
 * Request logging is off by default in the pinned vLLM (`--enable-log-requests` turns it on), so
 * prompts and outputs, which are document content, never reach the logs; the access log is off
 * too, as it adds nothing on a loopback-only server.
 */
export function vllmArgs(config: EntrypointConfig, modelFolder: string): string[] {
  return [
    'serve',
    modelFolder,
    '--served-model-name',
    config.modelId,
    '--host',
    '127.0.0.1',
    '--port',
    String(config.port),
    '--max-model-len',
    String(config.maxModelLen),
    '--gpu-memory-utilization',
    String(config.gpuMemoryUtilization),
    '--max-num-seqs',
    String(config.maxNumSeqs),
    '--limit-mm-per-prompt',
    JSON.stringify({ image: 1, video: 0 }),
    '--mm-processor-kwargs',
    // `max_pixels` is what older processors read; Qwen3-VL's reads `size.longest_edge` (a pixel
    // count despite its name), and some versions ignore `max_pixels` alone (transformers#41955).
    JSON.stringify({
      max_pixels: config.maxPixels,
      size: { longest_edge: config.maxPixels, shortest_edge: Math.min(QWEN3_VL_MIN_PIXELS, config.maxPixels) },
    }),
    '--enable-prefix-caching',
    '--disable-uvicorn-access-log',
    ...config.extraArgs,
  ];
}

/**
 * Left out of vLLM's environment: the task's credential variables, which vLLM has no use for, so
 * they do not turn up in its logs, error reports or crash dumps; and this entrypoint's own
 * settings, which share vLLM's `VLLM_` prefix, and vLLM reads some such names itself: it takes
 * `VLLM_PORT` as the base of its internal ports, which would collide with the API port.
 *
 * This is hygiene, not isolation: vLLM runs as the same uid as the entrypoint and the worker, so
 * it could still read the credential variables from their /proc/<pid>/environ. What limits it is
 * what limits the whole task: a loopback-only server, no internet route, and the task role.
 */
const NOT_FOR_VLLM = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
  ...Object.keys(envSchema.shape).filter((name) => name.startsWith('VLLM_')),
];

/**
 * What a stop may take, worker drain and vLLM's exit together: a few seconds under the container's
 * stop timeout (120 s: `CONTAINER_STOP_TIMEOUT` in lib/gpu-capacity.ts, also the ECS agent's
 * `ECS_CONTAINER_STOP_TIMEOUT`), so the entrypoint ends with its own status instead of SIGKILL.
 */
export const STOP_BUDGET_MS = 110_000;
/** vLLM's time to exit after SIGTERM before its process group is killed; it has no work left by then. */
export const VLLM_STOP_GRACE_MS = 15_000;
/**
 * The worker's time to drain after SIGTERM before it is killed: the rest of the budget (95 s). The
 * worker's own drain ends within 90 s (DESIGN, "The GPU worker"; inference-container/src/lifecycle.ts).
 */
export const WORKER_STOP_MS = STOP_BUDGET_MS - VLLM_STOP_GRACE_MS;

type Stop = { signal: 'SIGTERM' | 'SIGINT' };

/**
 * Runs the container until it should end and resolves to the exit code. Never rejects: every
 * failure is logged and becomes a non-zero code, with any started child stopped first.
 */
export async function runEntrypoint(config: EntrypointConfig, deps: EntrypointDeps): Promise<number> {
  const { logger } = deps;
  const now = deps.now ?? Date.now;
  const graceMs = deps.stopGraceMs ?? VLLM_STOP_GRACE_MS;
  const workerStopMs = deps.workerStopMs ?? WORKER_STOP_MS;

  // A stop request can come at any moment; every phase races against it.
  let requestStop!: (stop: Stop) => void;
  const stopRequested = new Promise<Stop>((resolve) => (requestStop = resolve));
  let worker: ChildHandle | undefined;
  let stopping = false;
  const onSignal = (signal: 'SIGTERM' | 'SIGINT') => (): void => {
    logger.info('stop requested', { signal });
    stopping = true;
    requestStop({ signal });
    // Forwarded at once (and again on a repeat) once the worker runs; before that nothing holds work.
    worker?.kill(signal);
  };
  const onTerm = onSignal('SIGTERM');
  const onInt = onSignal('SIGINT');
  deps.signals.on('SIGTERM', onTerm);
  deps.signals.on('SIGINT', onInt);
  try {
    // 1. Weights.
    const fetchAbort = new AbortController();
    void stopRequested.then(() => fetchAbort.abort());
    const started = now();
    let folder: string;
    try {
      const weights = await deps.fetchWeights(fetchAbort.signal);
      folder = weights.folder;
      logger.info('model weights ready', {
        files: weights.files,
        downloaded: weights.downloaded,
        reused: weights.reused,
        bytesDownloaded: weights.bytesDownloaded,
        removedFolders: weights.removedFolders,
        seconds: Math.round((now() - started) / 1000),
      });
    } catch (error) {
      if (fetchAbort.signal.aborted) {
        logger.info('stopped while fetching the model weights');
        return 0;
      }
      if (error instanceof WeightsError && (error.code === 'stalled' || error.code === 'timeout')) {
        // Its own line: a stalled or crawling S3 read, not bad weights; ECS starts a new task.
        logger.error('model weights fetch timed out', {
          error: describe(error),
          timeoutSeconds: config.fetchTimeoutSeconds,
          idleSeconds: config.fetchIdleSeconds,
          seconds: Math.round((now() - started) / 1000),
        });
      } else {
        logger.error('model weights could not be fetched', { error: describe(error) });
      }
      return 1;
    }

    // 2. vLLM, and wait until it serves the model.
    const vllmEnv: NodeJS.ProcessEnv = { ...deps.env };
    for (const key of NOT_FOR_VLLM) delete vllmEnv[key];
    const vllm = deps.spawn([...config.vllmCommand, ...vllmArgs(config, folder)], { env: vllmEnv, ownGroup: true });
    logger.info('vLLM starting', { pid: vllm.pid, model: config.modelId, port: config.port, timeoutSeconds: config.readyTimeoutSeconds });
    const readiness = await waitUntilReady(config, deps, vllm, stopRequested);
    if (readiness.kind !== 'ready') {
      if (readiness.kind === 'exited') {
        logger.error('vLLM exited before it was ready', { exitCode: readiness.exit.code, signal: readiness.exit.signal });
        return failureCode(readiness.exit);
      }
      if (readiness.kind === 'timeout') {
        logger.error('vLLM was not ready in time; stopping it', { timeoutSeconds: config.readyTimeoutSeconds, reason: readiness.reason });
      }
      await stopChild(vllm, graceMs, true);
      return readiness.kind === 'stopped' ? 0 : 1;
    }
    logger.info('vLLM ready', { model: config.modelId, seconds: Math.round((now() - started) / 1000) });
    if (stopping) {
      await stopChild(vllm, graceMs, true);
      return 0;
    }

    // 3. The worker; from here the two live and die together.
    worker = deps.spawn(config.workerCommand, { env: { ...deps.env, VLLM_BASE_URL: config.vllmBaseUrl }, ownGroup: false });
    logger.info('worker started', { pid: worker.pid });
    const running = worker;
    const first = await Promise.race([
      running.exited.then((exit) => ({ kind: 'worker-exited' as const, exit })),
      vllm.exited.then((exit) => ({ kind: 'vllm-exited' as const, exit })),
      stopRequested.then((stop) => ({ kind: 'stop' as const, stop })),
    ]);

    // A worker that ends while a stop is under way ended because of it, whichever settled first.
    if (first.kind === 'stop' || (first.kind === 'worker-exited' && stopping)) {
      // The signal has already been forwarded to the worker; it drains, then vLLM goes.
      const exit = await waitForExit(running, workerStopMs, () => {
        logger.warn('the worker did not stop in time; killing it', { seconds: Math.round(workerStopMs / 1000) });
        running.kill('SIGKILL');
      });
      logger.info('worker stopped', { exitCode: exit.code, signal: exit.signal });
      await stopChild(vllm, graceMs, true);
      logger.info('vLLM stopped');
      return stoppedWorkerCode(exit);
    }
    if (first.kind === 'vllm-exited') {
      logger.error('vLLM exited; stopping the worker', { exitCode: first.exit.code, signal: first.exit.signal });
      // The worker releases its leases on SIGTERM, so another task picks the pages up.
      const exit = await stopChild(running, workerStopMs, false);
      logger.info('worker stopped', { exitCode: exit.code, signal: exit.signal });
      vllm.killTree('SIGKILL'); // engine processes it may have left behind
      return failureCode(first.exit);
    }
    logger.error('worker exited; stopping vLLM', { exitCode: first.exit.code, signal: first.exit.signal });
    await stopChild(vllm, graceMs, true);
    return failureCode(first.exit);
  } finally {
    deps.signals.off('SIGTERM', onTerm);
    deps.signals.off('SIGINT', onInt);
  }
}

type Readiness =
  | { kind: 'ready' }
  | { kind: 'timeout'; reason: string }
  | { kind: 'exited'; exit: ChildExit }
  | { kind: 'stopped' };

/** Polls `/health`, then `/v1/models` for the served model name, until ready, gone, stopped or out of time. */
async function waitUntilReady(config: EntrypointConfig, deps: EntrypointDeps, vllm: ChildHandle, stopRequested: Promise<Stop>): Promise<Readiness> {
  const now = deps.now ?? Date.now;
  const interval = deps.pollIntervalMs ?? 2_000;
  const deadline = now() + config.readyTimeoutSeconds * 1000;
  const base = `http://127.0.0.1:${config.port}`;
  let ended: Readiness | undefined;
  // Wakes the wait between probes, so an exit or a stop request is acted on at once.
  let wake: (() => void) | undefined;
  const end = (readiness: Readiness): void => {
    ended ??= readiness;
    wake?.();
  };
  void vllm.exited.then((exit) => end({ kind: 'exited', exit }));
  void stopRequested.then(() => end({ kind: 'stopped' }));
  let lastProblem = 'no answer yet';

  while (ended === undefined) {
    const probe = await probeOnce(deps.fetch, base, config.modelId);
    if (ended !== undefined) break;
    if (probe === 'ready') return { kind: 'ready' };
    lastProblem = probe;
    const left = deadline - now();
    if (left <= 0) return { kind: 'timeout', reason: lastProblem };
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.min(interval, left));
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    wake = undefined;
  }
  return ended;
}

async function probeOnce(fetchFn: typeof fetch, base: string, modelId: string): Promise<'ready' | string> {
  try {
    const health = await fetchFn(`${base}/health`, { signal: AbortSignal.timeout(5_000) });
    await health.body?.cancel();
    if (!health.ok) return `/health answered ${health.status}`;
    const models = await fetchFn(`${base}/v1/models`, { signal: AbortSignal.timeout(5_000) });
    if (!models.ok) {
      await models.body?.cancel();
      return `/v1/models answered ${models.status}`;
    }
    const listed = modelsSchema.safeParse(await models.json());
    if (!listed.success) return '/v1/models answered an unexpected shape';
    return listed.data.data.some((m) => m.id === modelId) ? 'ready' : '/v1/models does not list MODEL_ID';
  } catch {
    return 'not answering';
  }
}

const modelsSchema = z.object({ data: z.array(z.object({ id: z.string() })) });

/**
 * SIGTERM, then SIGKILL if the process is still there after `graceMs`. `tree` signals what the
 * process started too (vLLM's engine processes), and SIGKILLs those left behind in any case.
 */
export async function stopChild(child: ChildHandle, graceMs: number, tree: boolean): Promise<ChildExit> {
  child.kill('SIGTERM');
  const exit = await waitForExit(child, graceMs, () => (tree ? child.killTree('SIGKILL') : child.kill('SIGKILL')));
  if (tree) child.killTree('SIGKILL');
  return exit;
}

/** The child's exit; `onLate` runs once if it has not exited after `ms` (and should make it exit). */
async function waitForExit(child: ChildHandle, ms: number, onLate: () => void): Promise<ChildExit> {
  const timer = setTimeout(onLate, ms);
  try {
    return await child.exited;
  } finally {
    clearTimeout(timer);
  }
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/** A process's status as a shell reports it: its code, or 128 + the signal that ended it. */
function exitCodeOf(exit: ChildExit): number {
  if (exit.code !== null) return exit.code;
  return 128 + (exit.signal ? (SIGNAL_NUMBERS[exit.signal] ?? 0) : 0);
}

/**
 * The status of a worker asked to stop. A worker that the forwarded signal ended by its default
 * action (it came before the worker installed its handler) held nothing yet: a clean stop, 0.
 */
function stoppedWorkerCode(exit: ChildExit): number {
  if (exit.code === null && (exit.signal === 'SIGTERM' || exit.signal === 'SIGINT')) return 0;
  return exitCodeOf(exit);
}

/** A child that ended unasked is a failure even if it said 0. */
function failureCode(exit: ChildExit): number {
  const code = exitCodeOf(exit);
  return code === 0 ? 1 : code;
}

function describe(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { message: String(error) };
}
