import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { runMigrations } from '../../src/db/migrate';
import { createPgDatabase } from '../../src/db/pg-database';
import { provisionLoginRoles } from '../../src/db/roles';
import { migrate, settingsFromEnv, type MigrateResult } from './migrate-core';

const secrets = new SecretsManagerClient({});

const logger = new Logger({ serviceName: 'untxt-migrate' });

/**
 * Invoked by the deploy-time trigger after the cluster exists (and again whenever this function
 * changes, which is whenever a migration is added). A thrown error fails the deployment.
 */
export async function handler(): Promise<MigrateResult> {
  return migrate(settingsFromEnv(process.env), {
    secrets,
    openDatabase: createPgDatabase,
    runMigrations: (db) => runMigrations(db),
    provisionLoginRoles,
    logger,
  });
}
