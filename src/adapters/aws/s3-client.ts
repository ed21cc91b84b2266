import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

/**
 * Every S3 client in the project is built here, because presigned PUTs depend on one setting:
 * with the SDK default (`WHEN_SUPPORTED`) presigned URLs carry an `x-amz-checksum-crc32` of the
 * empty body, which S3 then checks against the uploaded bytes and refuses. `WHEN_REQUIRED` adds a
 * checksum only where an operation demands one (e.g. DeleteObjects) or where we pass one ourselves.
 */
export function createS3Client(config: Omit<S3ClientConfig, 'requestChecksumCalculation'> = {}): S3Client {
  return new S3Client({ ...config, requestChecksumCalculation: 'WHEN_REQUIRED' });
}
