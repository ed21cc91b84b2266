import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { errorSummary } from '../../src/adapters/error-summary';
import { handleIntakeMessage, type IntakeDeps } from '../../src/pipeline/intake';
import { parseBody } from '../../src/ports/job-queue';
import { intakeDepsFrom, pipelineRuntime } from './runtime';

const runtime = pipelineRuntime('untxt-intake');
let deps: IntakeDeps | undefined;

/**
 * Intake queue → intake core. Batch size 1 (the event source mapping also sets
 * maximumConcurrency and ReportBatchItemFailures); a record that throws is retried by SQS and,
 * after maxReceiveCount, lands in the intake DLQ.
 */
export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    try {
      await handleIntakeMessage(parseBody(record.body), (deps ??= intakeDepsFrom(runtime)));
    } catch (error) {
      runtime.logger.error('Intake failed; the message will be retried', { messageId: record.messageId, error: errorSummary(error) });
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures: failures };
}
