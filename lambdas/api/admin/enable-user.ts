import { enableUserCore } from '../../../src/api/admin/users';
import { defineHandler } from '../define-handler';

export const { handler, withDeps } = defineHandler(enableUserCore);
