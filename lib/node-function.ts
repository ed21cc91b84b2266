import { RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type BundlingOptions, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/** Every function runs on this runtime; the code itself stays compatible with the local Node 20. */
export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_22_X;

export interface NodeFunctionProps
  extends Omit<NodejsFunctionProps, 'runtime' | 'architecture' | 'logGroup' | 'logRetention' | 'bundling'> {
  readonly entry: string;
  /** Log groups are encrypted with this key (never the service default). */
  readonly logKey: kms.IKey;
  readonly logRetentionDays: number;
  readonly logRemovalPolicy: RemovalPolicy;
  /** Merged over the defaults (minified, source maps, pinned SDK). */
  readonly bundling?: BundlingOptions;
}

/**
 * A NodejsFunction with the project's defaults: ARM64, Node.js 22, minified bundle with source
 * maps, JSON logs into its own KMS-encrypted log group with a retention period. The AWS SDK is
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
  return new NodejsFunction(scope, id, {
    ...functionProps,
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
      target: 'node22',
      // pg loads its optional native binding lazily; it is never installed.
      externalModules: ['pg-native'],
      ...bundling,
    },
  });
}
