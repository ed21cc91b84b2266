import { DEFAULT_INTAKE_LIMITS, intakeObject } from '../../src/pipeline/intake';
import { sweep, SWEEP_DEFAULTS, type SweepReport } from '../../src/pipeline/sweeper';
import { pipelineRuntime, positiveInt } from '../intake/runtime';

const runtime = pipelineRuntime('untxt-sweeper');

/** EventBridge Scheduler, every 5 minutes. A thrown error marks the invocation failed (and alarms). */
export async function handler(): Promise<SweepReport> {
  const env = process.env;
  const common = {
    db: runtime.db(),
    objects: runtime.objects(),
    jobs: runtime.jobs(),
    events: runtime.events(),
    clock: runtime.clock,
    logger: runtime.logger,
  };
  const limits = {
    maxPages: positiveInt(env, 'MAX_PAGES', DEFAULT_INTAKE_LIMITS.maxPages),
    maxImagePixels: positiveInt(env, 'MAX_IMAGE_PIXELS', DEFAULT_INTAKE_LIMITS.maxImagePixels),
  };
  const report = await sweep(
    { ...common, intake: (key) => intakeObject({ key }, { ...common, limits }) },
    { uploadUrlSeconds: positiveInt(env, 'UPLOAD_URL_SECONDS', SWEEP_DEFAULTS.uploadUrlSeconds) },
  );
  if (report.errors > 0) throw new Error(`${report.errors} tasks could not be swept`);
  return report;
}
