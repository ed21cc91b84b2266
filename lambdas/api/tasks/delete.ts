import { deleteTaskCore } from '../../../src/api/tasks/delete';
import { eventBridgeBus } from '../aws/event-bus';
import { s3ObjectStore } from '../aws/object-store';
import { defineHandler } from '../define-handler';

export const { handler, withDeps, awsParts } = defineHandler(deleteTaskCore, { aws: { objectStore: s3ObjectStore, eventBus: eventBridgeBus } });
