import * as path from 'node:path';
import { CustomResource, Duration, Stack, Validations, type CfnElement, type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { Database } from './database';
import type { DatabaseMigrations } from './migrations';
import type { Network } from './network';
import { createNodeFunction, invokedSynchronously } from './node-function';

export interface ApiProvisioningProps {
  readonly network: Network;
  readonly database: Database;
  readonly migrations: DatabaseMigrations;
  readonly dataKey: kms.IKey;
  readonly logKey: kms.IKey;
  readonly logRetentionDays: number;
  /** Secrets and log groups: kept with the data they protect, unless the stack destroys its data. */
  readonly removalPolicy: RemovalPolicy;
  readonly firstAdminEmail: string;
}

const PROVISION_TIMEOUT = Duration.minutes(2);

const NO_ROTATION_SIGNING =
  'Rotating the JWT signing key means prepending a new key to the set and dropping the old one after the 15-minute token life, then redeploying so the authorizer gets the new public key; a Secrets Manager rotation function would replace the set at once and invalidate every access token in flight.';

/**
 * Deploy-time provisioning for the HTTP API, after the migrations:
 * - the JWT signing key set (Ed25519 JWKs) in a KMS-encrypted secret. CloudFormation creates the
 *   secret with a random placeholder; the function generates the key pair into it, so the private
 *   key never appears in the template, the assets or CloudFormation's events.
 * - the first admin, from a secret whose password CloudFormation generates; the function adds
 *   the TOTP secret to it. An operator reads the three values once from Secrets Manager.
 *
 * The function runs in the VPC (database, Secrets Manager endpoint); the provider framework that
 * answers CloudFormation runs outside it and only ever sees the public key set returned here.
 */
export class ApiProvisioning extends Construct {
  readonly signingSecret: secretsmanager.ISecret;
  readonly firstAdminSecret: secretsmanager.ISecret;
  readonly function: NodejsFunction;
  /** The public JWK set (JSON), for the authorizer's JWT_PUBLIC_JWKS. */
  readonly publicJwks: string;

  constructor(scope: Construct, id: string, props: ApiProvisioningProps) {
    super(scope, id);
    const { network, database } = props;
    this.signingSecret = new secretsmanager.Secret(this, 'SigningKeys', {
      description: 'untxt JWT signing keys (Ed25519 JWK set, generated at deploy)',
      encryptionKey: props.dataKey,
      removalPolicy: props.removalPolicy,
    });
    this.firstAdminSecret = new secretsmanager.Secret(this, 'FirstAdmin', {
      description: 'untxt first admin: email, generated password, and the TOTP secret added at deploy',
      encryptionKey: props.dataKey,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ email: props.firstAdminEmail }),
        generateStringKey: 'password',
        passwordLength: 32,
        excludePunctuation: true,
      },
      removalPolicy: props.removalPolicy,
    });
    for (const [secret, reason] of [
      [this.signingSecret, NO_ROTATION_SIGNING],
      [
        this.firstAdminSecret,
        'A one-time bootstrap credential: the admin it creates is protected by TOTP as well, and once other admins exist the account can be disabled; the stored password is not used by any service, so there is nothing for a rotation function to update.',
      ],
    ] as const) {
      Validations.of(secret).acknowledge(
        { id: 'AwsSolutions-SMG4', reason },
        { id: 'HIPAA.Security-SecretsManagerRotationEnabled', reason },
      );
    }

    const securityGroup = network.newEndpointClientGroup(this, 'SecurityGroup', 'API provisioning: PostgreSQL and the VPC endpoints only');
    this.function = createNodeFunction(this, 'Function', {
      entry: path.join(__dirname, '..', 'lambdas', 'provision', 'handler.ts'),
      description: 'Generates the JWT signing key set and creates the first admin (deploy time)',
      timeout: PROVISION_TIMEOUT,
      // scrypt (N=2^17, r=8) needs 128 MiB for one hash.
      memorySize: 1024,
      reservedConcurrentExecutions: 1,
      vpc: network.vpc,
      vpcSubnets: network.subnets,
      securityGroups: [securityGroup],
      environment: database.lambdaConnectionEnvironment('untxt_api'),
      logKey: props.logKey,
      logRetentionDays: props.logRetentionDays,
      logRemovalPolicy: props.removalPolicy,
    });
    Validations.of(this.function).acknowledge(
      ...invokedSynchronously(
        'by the custom resource provider framework during deployment',
        'a failure fails the deployment and is reported by CloudFormation',
      ),
      {
        id: 'Serverless-LambdaTracing',
        reason: 'Runs once per deployment that changes it, as one synchronous call; its JSON logs record the outcome.',
      },
    );
    // Read and write the two secrets (the writes put the generated key set and TOTP secret in).
    for (const secret of [this.signingSecret, this.firstAdminSecret]) grantSecretAccess(this.function, secret, props.dataKey, 'readWrite');
    database.grantConnect(this.function, 'untxt_api');
    database.allowConnectionsFrom(this.function);

    const provider = this.newProvider(props);
    const resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::UntxtApiProvisioning',
      properties: {
        SigningSecretArn: this.signingSecret.secretArn,
        FirstAdminSecretArn: this.firstAdminSecret.secretArn,
      },
    });
    // The users table and the untxt_api login role come from the migration trigger; the rules that
    // admit the function to the database and the endpoints must exist before it runs.
    resource.node.addDependency(props.migrations.trigger, database, securityGroup, network.endpointSecurityGroup);
    this.publicJwks = resource.getAttString('PublicJwks');
  }

  /** The framework function: outside the VPC (it answers CloudFormation's S3 response URL), logs encrypted. */
  private newProvider(props: ApiProvisioningProps): cr.Provider {
    const logGroup = new logs.LogGroup(this, 'ProviderLogs', {
      encryptionKey: props.logKey,
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: props.removalPolicy,
    });
    const role = new iam.Role(this, 'ProviderRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    logGroup.grantWrite(role);
    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.function,
      logGroup,
      frameworkOnEventRole: role,
    });
    acknowledgeProviderFramework(provider, role, this.function);
    return provider;
  }
}

function acknowledgeProviderFramework(provider: cr.Provider, role: iam.Role, onEvent: NodejsFunction): void {
  const onEventId = Stack.of(onEvent).getLogicalId(onEvent.node.defaultChild as CfnElement);
  Validations.of(role).acknowledge(
    {
      id: 'HIPAA.Security-IAMNoInlinePolicy',
      reason:
        "The provider framework's role: its one policy is generated by CDK (write its own log group, invoke the provisioning function) and attached to this role alone.",
    },
    {
      id: `AwsSolutions-IAM5[Resource::<${onEventId}.Arn>:*]`,
      reason: 'lambda:InvokeFunction on the provisioning function and its versions only (CDK grants the function ARN with `:*`).',
    },
  );
  const framework = 'CDK-managed custom resource provider framework function, invoked only by CloudFormation during deployment';
  Validations.of(provider).acknowledge(
    {
      id: 'HIPAA.Security-LambdaInsideVPC',
      reason: `${framework}: it must reach CloudFormation's S3 response URL, which the isolated subnets cannot; it handles only the public key set.`,
    },
    { id: 'HIPAA.Security-LambdaDLQ', reason: `${framework}; a failure fails the deployment and CloudFormation reports it.` },
    { id: 'Serverless-LambdaDLQ', reason: `${framework}; a failure fails the deployment and CloudFormation reports it.` },
    { id: 'HIPAA.Security-LambdaConcurrency', reason: `${framework}; it runs once per deployment.` },
    { id: 'Serverless-LambdaTracing', reason: `${framework}; its code is not ours to instrument.` },
    { id: 'AwsSolutions-L1', reason: `${framework}; CDK pins its runtime and updates it with the library.` },
    { id: 'Serverless-LambdaLatestVersion', reason: `${framework}; CDK pins its runtime and updates it with the library.` },
    { id: 'Serverless-LambdaDefaultMemorySize', reason: `${framework}; CDK sizes it.` },
  );
}

/**
 * Secrets Manager access to one secret, with the data key usable only by Secrets Manager and only
 * for that secret (its ARN is the encryption context). Granted on the principal's policy, so the
 * key policy does not grow with every function (Secret.grantRead would add each role to it).
 */
export function grantSecretAccess(grantee: iam.IGrantable, secret: secretsmanager.ISecret, key: kms.IKey, access: 'read' | 'readWrite'): void {
  const write = access === 'readWrite';
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret', ...(write ? ['secretsmanager:PutSecretValue'] : [])],
      resources: [secret.secretArn],
    }),
  );
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['kms:Decrypt', ...(write ? ['kms:GenerateDataKey'] : [])],
      resources: [key.keyArn],
      conditions: {
        StringEquals: {
          'kms:ViaService': `secretsmanager.${Stack.of(secret).region}.amazonaws.com`,
          'kms:EncryptionContext:SecretARN': secret.secretArn,
        },
      },
    }),
  );
}
