import { createTaskCore } from '../../../src/api/tasks/create';
import { s3ObjectStore } from '../aws/object-store';
import { defineHandler } from '../define-handler';

export const { handler, withDeps, awsParts } = defineHandler(createTaskCore, { aws: { objectStore: s3ObjectStore } });
