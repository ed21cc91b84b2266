import { loginCore } from '../../../src/api/auth/login';
import { secretsManagerKeys } from '../aws/signing-keys';
import { defineHandler } from '../define-handler';

export const { handler, withDeps, awsParts } = defineHandler(loginCore, { aws: { signingKeys: secretsManagerKeys } });
