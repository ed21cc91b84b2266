import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SigningKeys } from '../../../src/auth/signing-keys';
import { secretsManagerSigningKeys } from '../../../src/auth/signing-keys-secrets-manager';

/** JWT_SIGNING_SECRET_ARN → the private signing keys, read from Secrets Manager. */
export const secretsManagerKeys = (secretId: string): SigningKeys => secretsManagerSigningKeys({ client: new SecretsManagerClient({}), secretId });
