import type { Logger } from '@aws-lambda-powertools/logger';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { z } from 'zod';
import type { PasswordHasher } from '../../src/auth/password';
import type { PublicJwks } from '../../src/auth/signing-keys';
import type { Database } from '../../src/db/database';

/** The custom resource's properties, as the stack sets them (lib/api-provisioning.ts). */
const propertiesSchema = z.object({
  SigningSecretArn: z.string().min(1),
  FirstAdminSecretArn: z.string().min(1),
});

/** What the provider framework expects back; `Data` becomes the resource's attributes. */
export interface ProvisionResponse {
  PhysicalResourceId: string;
  Data?: { PublicJwks: string };
}

export interface ProvisionDeps {
  secrets: SecretsManagerClient;
  openDatabase: () => Database;
  passwords: PasswordHasher;
  ensureSigningKeySecret: (secrets: SecretsManagerClient, secretId: string) => Promise<PublicJwks>;
  ensureFirstAdminFromSecret: (
    db: Database,
    passwords: PasswordHasher,
    secrets: SecretsManagerClient,
    secretId: string,
  ) => Promise<{ created: boolean }>;
  logger: Pick<Logger, 'info'>;
}

/** One id for the life of the stack: an update never replaces it (which would delete the old one). */
export const PHYSICAL_RESOURCE_ID = 'untxt-api-provisioning';

/**
 * Deploy time, after the migrations: the JWT signing key set exists in its secret (generated
 * there, never in the template) and the first admin exists (from the generated first-admin
 * secret). Returns only the PUBLIC key set, for the authorizer's environment: the provider
 * framework logs what is returned. Delete does nothing: the secrets go with their own resources.
 */
export async function provision(event: CloudFormationCustomResourceEvent, deps: ProvisionDeps): Promise<ProvisionResponse> {
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };
  const props = propertiesSchema.parse(event.ResourceProperties);
  const publicJwks = await deps.ensureSigningKeySecret(deps.secrets, props.SigningSecretArn);
  const db = deps.openDatabase();
  try {
    const { created } = await deps.ensureFirstAdminFromSecret(db, deps.passwords, deps.secrets, props.FirstAdminSecretArn);
    deps.logger.info('Provisioned', { signingKeys: publicJwks.keys.length, firstAdminCreated: created });
  } finally {
    await db.close();
  }
  return { PhysicalResourceId: PHYSICAL_RESOURCE_ID, Data: { PublicJwks: JSON.stringify(publicJwks) } };
}
