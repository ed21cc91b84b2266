import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { errorSummary } from '../../src/adapters/error-summary';
import { DEFAULT_INTAKE_LIMITS, handleIntakeMessage, type IntakeDeps } from '../../src/pipeline/intake';
import { parseBody } from '../../src/adapters/aws/sqs-job-queue';
import { pipelineRuntime, positiveInt } from './runtime';

const runtime = pipelineRuntime('untxt-intake');
let deps: IntakeDeps | undefined;

function intakeDeps(): IntakeDeps {
  return (deps ??= {
    db: runtime.db(),
    objects: runtime.objects(),
    jobs: runtime.jobs(),
    events: runtime.events(),
    clock: runtime.clock,
    logger: runtime.logger,
    limits: {
      maxPages: positiveInt(process.env, 'MAX_PAGES', DEFAULT_INTAKE_LIMITS.maxPages),
      maxImagePixels: positiveInt(process.env, 'MAX_IMAGE_PIXELS', DEFAULT_INTAKE_LIMITS.maxImagePixels),
    },
  });
}

/**
 * Intake queue → intake core. Batch size 1 (the event source mapping also sets
 * maximumConcurrency and ReportBatchItemFailures); a record that throws is retried by SQS and,
 * after maxReceiveCount, lands in the intake DLQ.
 */
export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    try {
      await handleIntakeMessage(parseBody(record.body), intakeDeps());
    } catch (error) {
      runtime.logger.error('Intake failed; the message will be retried', { messageId: record.messageId, error: errorSummary(error) });
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures: failures };
}
