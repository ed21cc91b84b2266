import { meCore } from '../../../src/api/auth/me';
import { defineHandler } from '../define-handler';

export const { handler, withDeps } = defineHandler(meCore);
