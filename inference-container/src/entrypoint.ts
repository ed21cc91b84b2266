/**
 * The container's ENTRYPOINT (`node /opt/untxt/entrypoint.js`): weights from S3, vLLM, then the
 * worker; see entrypoint-core.ts for the sequence and inference-container/README.md for the
 * environment. Logs are JSON lines on stdout.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { S3Client } from '@aws-sdk/client-s3';
import { join } from 'node:path';
import { ConfigError, entrypointConfigFromEnv, runEntrypoint } from './entrypoint-core';
import { spawnChild } from './entrypoint-process';
import { fetchWeights } from './weights';
import { s3ModelSource } from './weights-s3';

async function main(): Promise<number> {
  const logger = new Logger({ serviceName: 'untxt-entrypoint' });
  let config;
  try {
    // The worker bundle sits beside this one (/opt/untxt/worker.js in the image).
    config = entrypointConfigFromEnv(process.env, [process.execPath, join(__dirname, 'worker.js')]);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    logger.error('the entrypoint cannot start', { problems: error.problems });
    return 1;
  }
  const resolved = config;
  return runEntrypoint(resolved, {
    logger,
    fetchWeights: (signal) =>
      fetchWeights({
        source: s3ModelSource(new S3Client({}), resolved.modelS3Uri),
        modelDir: resolved.modelDir,
        manifestSha256: resolved.manifestSha256,
        concurrency: resolved.downloadConcurrency,
        idleTimeoutMs: resolved.fetchIdleSeconds * 1000,
        timeoutMs: resolved.fetchTimeoutSeconds * 1000,
        signal,
      }),
    spawn: spawnChild,
    fetch,
    signals: process,
    env: process.env,
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`untxt entrypoint failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
