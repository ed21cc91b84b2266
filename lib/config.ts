import type { IConstruct } from 'constructs';
import { z } from 'zod';
import { REGISTRATION_MODES, type RegistrationMode } from '../src/api/config';
import { GPU_INSTANCE_TYPES, type GpuInstanceTypeName } from './gpu-instances';
import { modelFit } from './gpu-sizing';

/** Every setting of the app is a CDK context key with this prefix: `cdk synth -c untxt:databaseMinCapacity=0.5`. */
export const CONTEXT_PREFIX = 'untxt:';

/** CloudWatch Logs accepts only these retention periods (days); anything else fails at deploy, so fail at synth. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/**
 * Values arrive as JSON from cdk.json or `App({context})`, and as strings from `-c key=value`:
 * every schema accepts both, so `-c untxt:deletionProtection=false` means false, not a truthy string.
 */
const fromContext = (inner: z.ZodNumber): z.ZodType<number> =>
  z.preprocess((value) => (typeof value === 'string' && value.trim() !== '' ? Number(value) : value), inner);

const integer = (min: number, max: number): z.ZodType<number> =>
  fromContext(
    z
      .number({ error: 'must be a number' })
      .int('must be a whole number')
      .min(min, `must be at least ${min}`)
      .max(max, `must be at most ${max}`),
  );

const boolean = (): z.ZodType<boolean> =>
  z.union([z.boolean(), z.stringbool()], { error: 'must be true or false' });

/** Aurora Serverless v2 capacity: 0 to 256 ACUs in steps of 0.5. */
const acu = (): z.ZodType<number> =>
  fromContext(
    z
      .number({ error: 'must be a number' })
      .min(0, 'must not be negative')
      .max(256, 'must be at most 256 ACUs')
      .multipleOf(0.5, 'must be a multiple of 0.5 ACU'),
  );

/**
 * A browser origin: scheme, host and optional port, nothing else. https only, except http for
 * localhost, so that a typo cannot open the document bucket to a plaintext or wildcard origin.
 */
function isBrowserOrigin(origin: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  const local = url.hostname === 'localhost' || url.hostname === '127.0.0.1';
  const schemeOk = url.protocol === 'https:' || (url.protocol === 'http:' && local);
  return schemeOk && url.origin === origin;
}

const origins = (): z.ZodType<string[]> =>
  z.preprocess(
    (value) =>
      typeof value === 'string'
        ? value
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== '')
        : value,
    z.array(
      z.string().refine(isBrowserOrigin, {
        error: (issue) =>
          `"${String(issue.input)}" is not an origin: use https://host[:port] (http only for localhost), no path, no wildcard`,
      }),
    ),
  );

const logRetention = (): z.ZodType<number> =>
  fromContext(
    z.number({ error: 'must be a number' }).refine((n) => (LOG_RETENTION_DAYS as readonly number[]).includes(n), {
      error: `must be one of the CloudWatch Logs retention periods: ${LOG_RETENTION_DAYS.join(', ')}`,
    }),
  );

/** One of a fixed list of names; the error lists them. */
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `must be one of ${values.join(', ')}` });

export const REMOVAL_POLICIES = ['retain', 'snapshot', 'destroy'] as const;
export type DataRemovalPolicy = (typeof REMOVAL_POLICIES)[number];

/** How GPU instances are bought (the `gpuCapacity` setting); the construct of that name is lib/gpu-capacity.ts. */
export const GPU_PURCHASE_OPTIONS = ['on-demand', 'spot'] as const;
export type GpuPurchaseOption = (typeof GPU_PURCHASE_OPTIONS)[number];

const GPU_INSTANCE_TYPE_NAMES = GPU_INSTANCE_TYPES.map((t) => t.instanceType) as [GpuInstanceTypeName, ...GpuInstanceTypeName[]];

/** A Hugging Face repository id, `organisation/name`: also the name vLLM serves the model under. */
const modelId = (): z.ZodType<string> =>
  z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be a model id like Qwen/Qwen3-VL-8B-Instruct');

/** Empty (weights not staged yet) or the hex SHA-256 of the staged weights' manifest, any case. */
const sha256OrEmpty = (): z.ZodType<string> =>
  z.preprocess(
    (value) => (typeof value === 'string' ? value.trim().toLowerCase() : value),
    z.union([z.literal(''), z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 hexadecimal digits (a SHA-256) or empty')]),
  );

interface Setting<T> {
  readonly schema: z.ZodType<T>;
  readonly default: T;
  readonly doc: string;
}

const setting = <T>(schema: z.ZodType<T>, defaultValue: T, doc: string): Setting<T> => ({
  schema,
  default: defaultValue,
  doc,
});

/**
 * The one table of settings: name (without the `untxt:` prefix), schema, default and a one-line
 * description. The README's configuration table is generated from this (see `configTable()`).
 */
export const SETTINGS = {
  databaseMinCapacity: setting(
    acu(),
    0,
    'Aurora Serverless v2 minimum ACUs; 0 lets the cluster auto-pause (dev, ~15 s to resume), 0.5+ for production.',
  ),
  databaseMaxCapacity: setting(acu(), 4, 'Aurora Serverless v2 maximum ACUs (at least 1 and not below the minimum).'),
  deletionProtection: setting(boolean(), true, 'Deletion protection on the Aurora cluster.'),
  backupRetentionDays: setting(integer(1, 35), 7, 'Days of Aurora automated backups (point-in-time restore window), 1–35.'),
  uploadExpiryDays: setting(integer(1, 3650), 7, 'Days after which original documents under uploads/ expire.'),
  resultExpiryDays: setting(integer(1, 3650), 90, 'Days after which OCR results under results/ expire.'),
  accessLogExpiryDays: setting(integer(1, 3650), 365, 'Days S3 server access logs of the documents bucket are kept.'),
  corsAllowedOrigins: setting(
    origins(),
    [],
    'Browser origins allowed to PUT/GET documents with presigned URLs (comma-separated with -c); none by default.',
  ),
  intakeMaxReceiveCount: setting(integer(1, 1000), 5, 'Receives of an intake message before it moves to the intake DLQ.'),
  jobsMaxReceiveCount: setting(
    integer(1, 1000),
    10,
    'Receives of a job message before it moves to the jobs DLQ (a live lease re-delivers without an attempt, so keep it above the task attempt limit).',
  ),
  queueRetentionDays: setting(integer(1, 13), 4, 'Days a message is kept on the intake and jobs queues (must be shorter than the DLQ retention).'),
  deadLetterRetentionDays: setting(integer(2, 14), 14, 'Days a message is kept on a dead-letter queue, 2–14.'),
  eventArchiveRetentionDays: setting(integer(1, 3650), 30, 'Days the archive of untxt.tasks events on the bus is kept (replay window).'),
  logRetentionDays: setting(logRetention(), 365, 'Days CloudWatch log groups (functions, flow logs, database) are kept.'),
  registrationMode: setting(
    oneOf(REGISTRATION_MODES),
    'invite' as RegistrationMode,
    'Who may create an account: open (anyone), invite (an admin\'s single-use code) or approval (accounts wait for an admin).',
  ),
  firstAdminEmail: setting(
    z.email({ error: 'must be an email address' }),
    'admin@untxt.local',
    'Email of the admin created at the first deployment (password and TOTP secret are generated into Secrets Manager).',
  ),
  maxUploadMegabytes: setting(integer(1, 5000), 500, 'Largest document a client may upload, in MiB (S3 single PUT allows up to 5 GiB).'),
  maxPages: setting(integer(1, 100_000), 3000, 'Most pages a document may have; intake fails longer ones with too_many_pages.'),
  maxConcurrentTasks: setting(integer(1, 10_000), 10, 'Tasks a user may have waiting or processing at once (429 with Retry-After beyond).'),
  maxPagesPerDay: setting(integer(1, 10_000_000), 10_000, 'Pages a user may submit per day.'),
  maxUploadGigabytesPerDay: setting(integer(1, 100_000), 10, 'GiB a user may upload per day.'),
  apiThrottleRateLimit: setting(integer(1, 10_000), 50, 'API stage throttling: steady-state requests per second across all clients.'),
  apiThrottleBurstLimit: setting(integer(1, 5_000), 100, 'API stage throttling: burst of concurrent requests (also bounds concurrent handlers and database connections).'),
  apiWafRateLimit: setting(integer(10, 2_000_000_000), 1000, 'WAF rate-based rule: requests per client IP per 5 minutes before that IP is blocked.'),
  apiMaxBodyKilobytes: setting(integer(1, 64), 16, 'WAF: largest request body in KiB (uploads go straight to S3; JSON bodies are small).'),
  intakeMaxConcurrency: setting(integer(2, 1000), 5, 'Most intake functions running at once (maximumConcurrency of its SQS event source mapping).'),
  intakeAgeAlarmMinutes: setting(integer(1, 1440), 15, 'Alarm when the oldest message on the intake queue is older than this.'),
  jobsAgeAlarmMinutes: setting(integer(1, 1440), 60, 'Alarm when the oldest job on the jobs queue is older than this (GPU capacity starts from zero).'),
  alarmEmail: setting(
    z.union([z.literal(''), z.email({ error: 'must be an email address or empty' })]),
    '',
    'Email subscribed to the alarm topic (confirm the subscription mail); empty for none.',
  ),
  modelId: setting(modelId(), 'Qwen/Qwen3-VL-8B-Instruct', 'Model the GPU worker serves with vLLM (Hugging Face id; its weights are staged into the models bucket).'),
  modelManifestSha256: setting(
    sha256OrEmpty(),
    '',
    'SHA-256 of the staged weights\' untxt-manifest.json (scripts/stage-weights.ts prints it); empty until staged, and the worker cannot start without it.',
  ),
  gpuInstanceType: setting(
    oneOf(GPU_INSTANCE_TYPE_NAMES),
    'g6e.xlarge' as GpuInstanceTypeName,
    'EC2 instance type of the GPU workers (one GPU each; lib/gpu-instances.ts lists the choices and their GPU memory).',
  ),
  gpuMaxInstances: setting(integer(1, 100), 2, 'Most GPU instances (and worker tasks) at once; the fleet scales to zero when idle.'),
  gpuCapacity: setting(
    oneOf(GPU_PURCHASE_OPTIONS),
    'on-demand' as GpuPurchaseOption,
    'GPU instances On-Demand or Spot (an interruption drains the task; page checkpoints keep the work done).',
  ),
  scaleToZeroIdleMinutes: setting(integer(1, 1440), 15, 'Minutes the jobs queue must stay empty (visible and in flight) before the GPU fleet scales to zero.'),
  maxPagesInFlight: setting(integer(1, 256), 32, 'Pages one GPU worker sends to vLLM at once, across its jobs (also vLLM\'s --max-num-seqs).'),
  dataRemovalPolicy: setting(
    oneOf(REMOVAL_POLICIES),
    'retain' as DataRemovalPolicy,
    'What stack deletion does to stored data (bucket, database, keys, logs): retain, snapshot (database; others retain) or destroy (buckets must be emptied first, or deletion fails).',
  ),
} as const;

export type SettingName = keyof typeof SETTINGS;

type SettingValue<S> = S extends Setting<infer T> ? T : never;

/** The parsed, validated configuration handed to every construct. */
export type UntxtConfig = { readonly [K in SettingName]: SettingValue<(typeof SETTINGS)[K]> };

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid untxt configuration (CDK context):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const contextKey = (name: string): string => `${CONTEXT_PREFIX}${name}`;

function unknownKeyProblems(context: Readonly<Record<string, unknown>>): string[] {
  const known = new Set(Object.keys(SETTINGS).map(contextKey));
  return Object.keys(context)
    .filter((key) => key.startsWith(CONTEXT_PREFIX) && !known.has(key))
    .map((key) => `${key}: unknown setting (known: ${[...known].join(', ')})`);
}

/**
 * `-c databaseMinCapacity=0.5` (prefix forgotten) would otherwise be ignored without a word and the
 * default deployed; any context key that is a setting's name, in any case, is refused.
 */
function unprefixedKeyProblems(context: Readonly<Record<string, unknown>>): string[] {
  const byLowerName = new Map(Object.keys(SETTINGS).map((name) => [name.toLowerCase(), name]));
  return Object.keys(context).flatMap((key) => {
    const name = byLowerName.get(key.toLowerCase());
    return name === undefined ? [] : [`${key}: not read; settings need the prefix, did you mean ${contextKey(name)}?`];
  });
}

function crossFieldProblems(c: UntxtConfig): string[] {
  const problems: string[] = [];
  if (c.databaseMaxCapacity < Math.max(1, c.databaseMinCapacity)) {
    problems.push(
      `${contextKey('databaseMaxCapacity')}: must be at least 1 and at least ${contextKey('databaseMinCapacity')} (${c.databaseMinCapacity}), got ${c.databaseMaxCapacity}`,
    );
  }
  if (c.deadLetterRetentionDays <= c.queueRetentionDays) {
    problems.push(
      `${contextKey('deadLetterRetentionDays')}: must be longer than ${contextKey('queueRetentionDays')} (${c.queueRetentionDays}), got ${c.deadLetterRetentionDays}; SQS keeps a message's original timestamp, so a shorter DLQ retention drops failed messages on arrival`,
    );
  }
  const fit = modelFit(c.modelId, c.gpuInstanceType);
  if (fit.verdict === 'refuse') problems.push(`${contextKey('modelId')}: ${fit.message}`);
  return problems;
}

/** Parses raw context (all keys; non-`untxt:` keys are ignored). Throws ConfigError naming every bad key. */
export function parseConfig(context: Readonly<Record<string, unknown>>): UntxtConfig {
  const problems = [...unknownKeyProblems(context), ...unprefixedKeyProblems(context)];
  const parsed: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(SETTINGS) as [SettingName, Setting<unknown>][]) {
    const key = contextKey(name);
    const raw = context[key] ?? s.default;
    const result = s.schema.safeParse(raw);
    if (result.success) {
      parsed[name] = result.data;
    } else {
      const why = result.error.issues.map((issue) => issue.message).join('; ');
      problems.push(`${key}: ${why} (got ${JSON.stringify(raw)})`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  // Every setting parsed against its own schema above, so the record has exactly UntxtConfig's shape.
  const config = parsed as UntxtConfig;
  const crossProblems = crossFieldProblems(config);
  if (crossProblems.length > 0) throw new ConfigError(crossProblems);
  return Object.freeze(config);
}

/** Reads and validates the `untxt:` context visible from a construct (the app's, including `-c` flags). */
export function loadConfig(scope: IConstruct): UntxtConfig {
  return parseConfig(scope.node.getAllContext() as Record<string, unknown>);
}

export interface ConfigTableRow {
  readonly key: string;
  readonly default: string;
  readonly doc: string;
}

/** The settings as rows for documentation (README table, `--help`-style listings). */
export function configTable(): ConfigTableRow[] {
  return (Object.entries(SETTINGS) as [SettingName, Setting<unknown>][]).map(([name, s]) => ({
    key: contextKey(name),
    default: JSON.stringify(s.default),
    doc: s.doc,
  }));
}
