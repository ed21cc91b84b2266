import { LOG_MODEL_SERVER_FAILED, LOG_PAGE_FALLBACK } from '../../inference-container/src/worker';
import { WORKER_LOG_MESSAGES } from '../../lib/gpu-worker';

describe('the log messages the GPU worker alarms count', () => {
  it('are the messages the worker logs, so a reworded log line cannot silence an alarm', () => {
    // Assess
    expect(WORKER_LOG_MESSAGES).toEqual({ pageFallback: LOG_PAGE_FALLBACK, modelServerFailed: LOG_MODEL_SERVER_FAILED });
  });
});
