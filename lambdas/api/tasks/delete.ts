import { deleteTaskCore } from '../../../src/api/tasks/delete';
import { defineHandler } from '../define-handler';

export const { handler, withDeps } = defineHandler(deleteTaskCore);
