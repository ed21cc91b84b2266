import { Duration, Stack, Validations, type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { newCustomerKey } from './keys';
import { privateBucketProps } from './private-bucket';

export interface ModelsBucketProps {
  /** Server access logs go here (the documents' access-log bucket), under `models/`. */
  readonly accessLogBucket: s3.IBucket;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The bucket the GPU worker's weights are staged into (scripts/stage-weights.ts) and fetched
 * from at start, each file pinned by SHA-256 in a manifest. Weights are public artefacts, not PHI,
 * so they have a key of their own: an operator who stages weights never needs the documents' key,
 * and the worker's read of weights never depends on it. Versioned (a re-staged file keeps its
 * predecessor for a rollback window), TLS-only, private, access-logged.
 */
export class ModelsBucket extends Construct {
  readonly bucket: s3.IBucket;
  readonly key: kms.IKey;

  constructor(scope: Construct, id: string, props: ModelsBucketProps) {
    super(scope, id);
    this.key = newCustomerKey(this, 'Key', 'untxt model weights', props.removalPolicy);
    const bucket = new s3.Bucket(this, 'Bucket', {
      ...privateBucketProps(this.key, { bucket: props.accessLogBucket, prefix: 'models/' }),
      lifecycleRules: [
        {
          id: 'expire-replaced-weights',
          // Tens of GiB per model: keep a replaced set long enough to roll back, not forever.
          noncurrentVersionExpiration: Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
          expiredObjectDeleteMarker: true,
        },
      ],
      removalPolicy: props.removalPolicy,
    });
    Validations.of(bucket).acknowledge({
      id: 'HIPAA.Security-S3BucketReplicationEnabled',
      reason:
        'Holds public model weights (no PHI) that can be staged again from their source, pinned by SHA-256; versioning keeps replaced files for 30 days.',
    });
    this.bucket = bucket;
  }

  /**
   * Reading the weights: objects and listing of the bucket, and the key through S3 only
   * (`kms:ViaService`).
   */
  grantRead(grantee: iam.IGrantable): void {
    const principal = grantee.grantPrincipal;
    principal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [this.bucket.arnForObjects('*')] }));
    principal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }));
    principal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
  }

  /** `s3://bucket/prefix/`: where a model's weights and manifest are staged. */
  uriFor(modelId: string): string {
    return `s3://${this.bucket.bucketName}/${modelPrefix(modelId)}`;
  }
}

/** `{organisation}/{name}/`: one folder per model id, as scripts/stage-weights.ts's usage line stages it. */
export function modelPrefix(modelId: string): string {
  return `${modelId}/`;
}
