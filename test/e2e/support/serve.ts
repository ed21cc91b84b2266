/**
 * A service process for the restart tests, configured like `npm start` from the environment,
 * with one difference: E2E_ENGINE=stalled gives it an OCR engine that never finishes a page, so
 * uploaded work stays queued or processing until the process is killed. Prints `READY <url>`.
 */
import { loadConfig } from '../../../local/config';
import { createLogger } from '../../../local/logger';
import { startLocalService } from '../../../local/service';
import type { OcrEngine } from '../../../src/ocr/engine';

const stalledEngine: OcrEngine = {
  name: 'stalled',
  concurrency: 1,
  recognize: (_image, options) =>
    new Promise((_resolve, reject) => options?.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true })),
  close: async () => undefined,
};

async function main(): Promise<void> {
  const service = await startLocalService(loadConfig(), {
    logger: createLogger(),
    pipeline: process.env.E2E_ENGINE === 'stalled' ? { engine: stalledEngine } : true,
  });
  process.stdout.write(`READY ${service.url}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`serve failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
