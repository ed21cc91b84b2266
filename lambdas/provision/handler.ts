import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { iamPoolConfig } from '../../src/adapters/aws/iam-pool-config';
import { ensureFirstAdminFromSecret } from '../../src/auth/first-admin';
import { scryptHasher } from '../../src/auth/password';
import { ensureSigningKeySecret } from '../../src/auth/signing-key-provisioning';
import { createPgDatabase } from '../../src/db/pg-database';
import { provision, type ProvisionResponse } from './provision-core';

const logger = new Logger({ serviceName: 'untxt-provision' });
const secrets = new SecretsManagerClient({});

/**
 * The onEvent handler of the API provisioning custom resource (lib/api-provisioning.ts). Runs in
 * the VPC and connects as untxt_api with IAM authentication, like the API handlers.
 */
export async function handler(event: CloudFormationCustomResourceEvent): Promise<ProvisionResponse> {
  return provision(event, {
    secrets,
    openDatabase: () => createPgDatabase(iamPoolConfig(process.env, { applicationName: 'untxt-provision', max: 1 })),
    passwords: scryptHasher(),
    ensureSigningKeySecret,
    ensureFirstAdminFromSecret,
    logger,
  });
}
