import { getTaskCore } from '../../../src/api/tasks/get';
import { defineHandler } from '../define-handler';

export const { handler, withDeps } = defineHandler(getTaskCore);
