import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { errorSummary } from '../../src/adapters/error-summary';
import { handleDeadJob } from '../../src/pipeline/dead-letters';
import { parseBody } from '../../src/ports/job-queue';
import { pipelineRuntime } from '../intake/runtime';

const runtime = pipelineRuntime('untxt-dlq');

/**
 * Jobs DLQ → fails the stranded tasks. A task still leased by a live worker throws
 * (TaskStillLeasedError), so its message is retried after the visibility timeout.
 */
export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  const deps = { db: runtime.db(), events: runtime.events(), clock: runtime.clock, logger: runtime.logger };
  for (const record of event.Records) {
    try {
      await handleDeadJob(parseBody(record.body), deps);
    } catch (error) {
      runtime.logger.warn('Dead job not settled yet', { messageId: record.messageId, error: errorSummary(error) });
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures: failures };
}
