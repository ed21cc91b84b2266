import { refreshCore } from '../../../src/api/auth/refresh';
import { secretsManagerKeys } from '../aws/signing-keys';
import { defineHandler } from '../define-handler';

export const { handler, withDeps, awsParts } = defineHandler(refreshCore, { aws: { signingKeys: secretsManagerKeys } });
