import { getResultCore } from '../../../src/api/tasks/result';
import { defineHandler } from '../define-handler';

export const { handler, withDeps } = defineHandler(getResultCore);
