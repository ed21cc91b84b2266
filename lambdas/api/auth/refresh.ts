import { refreshCore } from '../../../src/api/auth/refresh';
import { defineHandler } from '../define-handler';

export const { handler, withDeps } = defineHandler(refreshCore);
