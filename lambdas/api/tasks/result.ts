import { getResultCore } from '../../../src/api/tasks/result';
import { s3ObjectStore } from '../aws/object-store';
import { defineHandler } from '../define-handler';

export const { handler, withDeps, awsParts } = defineHandler(getResultCore, { aws: { objectStore: s3ObjectStore } });
