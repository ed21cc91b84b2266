import { createS3Client } from '../../../src/adapters/aws/s3-client';
import { S3ObjectStore } from '../../../src/adapters/aws/s3-object-store';
import type { ObjectStore } from '../../../src/ports/object-store';

/** DOCUMENTS_BUCKET → the S3 object store (presigning, reading results, erasing). */
export const s3ObjectStore = (bucket: string): ObjectStore => new S3ObjectStore({ client: createS3Client(), bucket });
