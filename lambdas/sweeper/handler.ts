import { intakeObject } from '../../src/pipeline/intake';
import { sweep, SWEEP_DEFAULTS, type SweepReport } from '../../src/pipeline/sweeper';
import { intakeDepsFrom, pipelineRuntime, positiveInt } from '../intake/runtime';

const runtime = pipelineRuntime('untxt-sweeper');

/** EventBridge Scheduler, every 5 minutes. A thrown error marks the invocation failed (and alarms). */
export async function handler(): Promise<SweepReport> {
  const deps = intakeDepsFrom(runtime);
  const report = await sweep(
    { ...deps, logger: runtime.logger, intake: (key) => intakeObject({ key }, deps) },
    { uploadUrlSeconds: positiveInt(process.env, 'UPLOAD_URL_SECONDS', SWEEP_DEFAULTS.uploadUrlSeconds) },
  );
  if (report.errors > 0) throw new Error(`${report.errors} tasks could not be swept`);
  return report;
}
