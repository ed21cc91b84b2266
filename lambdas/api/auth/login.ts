import { loginCore } from '../../../src/api/auth/login';
import { defineHandler } from '../define-handler';

export const { handler, withDeps } = defineHandler(loginCore);
