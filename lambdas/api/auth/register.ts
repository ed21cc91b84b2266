import { registerCore } from '../../../src/api/auth/register';
import { defineHandler } from '../define-handler';

export const { handler, withDeps } = defineHandler(registerCore);
