import { Validations, type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type BundlingOptions, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/**
 * Every function runs on the newest Node.js runtime Lambda offers; the code itself stays
 * compatible with the local Node 20 (async handlers only: Node 24 has no callback handlers).
 */
export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_24_X;
const BUNDLE_TARGET = 'node24';

export interface NodeFunctionProps
  extends Omit<NodejsFunctionProps, 'runtime' | 'architecture' | 'logGroup' | 'logRetention' | 'bundling' | 'role'> {
  readonly entry: string;
  /** Log groups are encrypted with this key (never the service default). */
  readonly logKey: kms.IKey;
  readonly logRetentionDays: number;
  readonly logRemovalPolicy: RemovalPolicy;
  /** Merged over the defaults (minified, source maps, pinned SDK). */
  readonly bundling?: BundlingOptions;
}

/**
 * A NodejsFunction with the project's defaults: ARM64, newest Node.js runtime, minified bundle
 * with source maps, JSON logs into its own KMS-encrypted log group with a retention period, and a
 * role of its own that may write only to that log group (no AWS managed policies). The AWS SDK is
 * bundled rather than taken from the runtime, so the code runs against the SDK version it was
 * tested with.
 */
export function createNodeFunction(scope: Construct, id: string, props: NodeFunctionProps): NodejsFunction {
  const { logKey, logRetentionDays, logRemovalPolicy, bundling, environment, ...functionProps } = props;
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
    encryptionKey: logKey,
    retention: logRetentionDays as logs.RetentionDays,
    removalPolicy: logRemovalPolicy,
  });
  const role = newExecutionRole(scope, `${id}Role`, logGroup, props.vpc !== undefined, props.tracing === lambda.Tracing.ACTIVE);
  return new NodejsFunction(scope, id, {
    ...functionProps,
    role,
    runtime: FUNCTION_RUNTIME,
    architecture: lambda.Architecture.ARM_64,
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    environment: { NODE_OPTIONS: '--enable-source-maps', ...environment },
    bundling: {
      minify: true,
      sourceMap: true,
      sourcesContent: false,
      format: OutputFormat.CJS,
      target: BUNDLE_TARGET,
      // pg loads its optional native binding lazily; it is never installed.
      externalModules: ['pg-native'],
      ...bundling,
    },
  });
}

/**
 * The dead-letter-queue acknowledgements of a function that is only ever invoked synchronously:
 * a DLQ only receives failed asynchronous invocations, so it would never receive anything.
 * `by` names the caller, `outcome` where a failure goes instead.
 */
export function invokedSynchronously(by: string, outcome = 'the caller receives the error'): { id: string; reason: string }[] {
  const reason = `Invoked synchronously ${by}: ${outcome}; a dead-letter queue only receives failed asynchronous invocations.`;
  return [
    { id: 'HIPAA.Security-LambdaDLQ', reason },
    { id: 'Serverless-LambdaDLQ', reason },
  ];
}

/** What AWSLambdaVPCAccessExecutionRole grants: Lambda attaches the function to the VPC with these. */
export const VPC_NETWORK_INTERFACE_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
];

function newExecutionRole(scope: Construct, id: string, logGroup: logs.ILogGroup, inVpc: boolean, traced: boolean): iam.Role {
  const role = new iam.Role(scope, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  logGroup.grantWrite(role);
  Validations.of(role).acknowledge({
    id: 'HIPAA.Security-IAMNoInlinePolicy',
    reason:
      "The role's policy is generated from resource grants, attached to this one role only and scoped to the named resources; a customer managed policy would hold the same statements with no extra control.",
  });
  const unscoped: string[] = [];
  if (inVpc) {
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: VPC_NETWORK_INTERFACE_ACTIONS, resources: ['*'] }));
    unscoped.push(
      'the EC2 network-interface actions Lambda needs to attach the function to its VPC (the set in AWSLambdaVPCAccessExecutionRole); the Describe actions cannot be scoped to resources and the interfaces do not exist before Lambda creates them',
    );
  }
  // Active tracing makes CDK grant xray:PutTraceSegments and xray:PutTelemetryRecords on `*`.
  if (traced) unscoped.push('xray:PutTraceSegments and xray:PutTelemetryRecords, which X-Ray does not allow to be scoped to a resource');
  if (unscoped.length > 0) {
    Validations.of(role).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: `Only ${unscoped.join('; and ')}.` });
  }
  return role;
}
