import { listTasksCore } from '../../../src/api/tasks/list';
import { defineHandler } from '../define-handler';

export const { handler, withDeps } = defineHandler(listTasksCore);
