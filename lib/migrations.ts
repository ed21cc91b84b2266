import * as path from 'node:path';
import { Duration, Validations, type RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as triggers from 'aws-cdk-lib/triggers';
import { Construct } from 'constructs';
import type { Database } from './database';
import type { Network } from './network';
import { createNodeFunction, invokedSynchronously } from './node-function';

export interface DatabaseMigrationsProps {
  readonly network: Network;
  readonly database: Database;
  readonly logKey: kms.IKey;
  readonly logRetentionDays: number;
  readonly logRemovalPolicy: RemovalPolicy;
}

const MIGRATION_TIMEOUT = Duration.minutes(5);

/**
 * Runs the migrations and provisions the IAM login roles during every deployment that changes
 * the migration function (new migrations change its bundle), after the cluster and the Secrets
 * Manager endpoint exist. It is the only code that uses the master secret.
 */
export class DatabaseMigrations extends Construct {
  readonly function: NodejsFunction;
  readonly trigger: triggers.Trigger;

  constructor(scope: Construct, id: string, props: DatabaseMigrationsProps) {
    super(scope, id);
    const { network, database } = props;
    const securityGroup = network.newEndpointClientGroup(this, 'SecurityGroup', 'Migration trigger: PostgreSQL and the VPC endpoints only');
    this.function = createNodeFunction(this, 'Function', {
      entry: path.join(__dirname, '..', 'lambdas', 'migrate', 'handler.ts'),
      description: 'Applies database migrations and provisions the IAM login roles (deploy-time trigger)',
      timeout: MIGRATION_TIMEOUT,
      memorySize: 512,
      // One migration run at a time; the migrations' advisory lock is the second line.
      reservedConcurrentExecutions: 1,
      vpc: network.vpc,
      vpcSubnets: network.subnets,
      securityGroups: [securityGroup],
      // No DB_USER: this function logs in with the master secret.
      environment: { MASTER_SECRET_ARN: database.masterSecret.secretArn, ...database.lambdaConnectionEnvironment() },
      logKey: props.logKey,
      logRetentionDays: props.logRetentionDays,
      logRemovalPolicy: props.logRemovalPolicy,
    });
    Validations.of(this.function).acknowledge(
      ...invokedSynchronously('(RequestResponse) by the deploy-time trigger', 'a failure fails the deployment and is reported by CloudFormation'),
      {
        id: 'Serverless-LambdaTracing',
        reason:
          'Runs once per deployment as a single synchronous call with no downstream fan-out; its JSON logs record each step, and tracing would need an X-Ray endpoint in the VPC for nothing more.',
      },
    );
    database.masterSecret.grantRead(this.function);
    database.allowConnectionsFrom(this.function);

    this.trigger = new triggers.Trigger(this, 'Trigger', {
      handler: this.function,
      timeout: MIGRATION_TIMEOUT,
      // The trigger's handler is the function's current version, whose logical id hashes the code
      // asset, itself a hash of the bundle that holds every migration: a new migration makes a new
      // version, and the trigger runs again (test/infra/migrate-bundle.test.ts).
      executeOnHandlerChange: true,
      // The whole database construct (cluster, writer, the rules that let this function in), and the
      // endpoints' security group, which holds the rule admitting this function to Secrets Manager.
      executeAfter: [database, securityGroup, network.endpointSecurityGroup, network.interfaceEndpoints.SecretsManager],
    });
  }
}
