import { createTaskCore } from '../../../src/api/tasks/create';
import { defineHandler } from '../define-handler';

export const { handler, withDeps } = defineHandler(createTaskCore);
