import { getPageImageCore } from '../../../src/api/tasks/page-image';
import { s3ObjectStore } from '../aws/object-store';
import { defineHandler } from '../define-handler';

export const { handler, withDeps, awsParts } = defineHandler(getPageImageCore, { aws: { objectStore: s3ObjectStore } });
