import { logoutCore } from '../../../src/api/auth/logout';
import { defineHandler } from '../define-handler';

export const { handler, withDeps } = defineHandler(logoutCore);
