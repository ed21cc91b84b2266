import { createInviteCore } from '../../../src/api/admin/invites';
import { defineHandler } from '../define-handler';

export const { handler, withDeps } = defineHandler(createInviteCore);
