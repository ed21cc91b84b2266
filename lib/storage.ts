import { Annotations, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { privateBucketProps } from './private-bucket';

/** Object key prefixes (DESIGN "Storage"); keys carry ids only, never file names. */
export const UPLOADS_PREFIX = 'uploads/';
export const RESULTS_PREFIX = 'results/';

export interface DocumentStorageProps {
  readonly dataKey: kms.IKey;
  readonly removalPolicy: RemovalPolicy;
  readonly uploadExpiryDays: number;
  readonly resultExpiryDays: number;
  readonly accessLogExpiryDays: number;
  readonly corsAllowedOrigins: readonly string[];
}

/**
 * The documents bucket (uploads and results, SSE-KMS with the data key) and the bucket that
 * receives its server access logs.
 */
export class DocumentStorage extends Construct {
  readonly bucket: s3.IBucket;
  readonly accessLogBucket: s3.IBucket;
  /** The key every object in `bucket` is encrypted with; the bucket policy refuses any other. */
  readonly encryptionKey: kms.IKey;

  constructor(scope: Construct, id: string, props: DocumentStorageProps) {
    super(scope, id);
    this.encryptionKey = props.dataKey;
    this.accessLogBucket = this.newAccessLogBucket(props);
    const bucket = new s3.Bucket(this, 'Documents', {
      ...privateBucketProps(props.dataKey, { bucket: this.accessLogBucket, prefix: 'documents/' }),
      lifecycleRules: documentLifecycleRules(props),
      cors: corsRules(props.corsAllowedOrigins),
      removalPolicy: props.removalPolicy,
    });
    denyForeignEncryption(bucket, props.dataKey);
    Validations.of(bucket).acknowledge({
      id: 'HIPAA.Security-S3BucketReplicationEnabled',
      reason:
        'Single-region by design: uploads are transient inputs that expire within days and results can be produced again from them; versioning guards against overwrite and deletion, and replicating PHI to a second region would widen where it is stored.',
    });
    this.bucket = bucket;
    if (props.removalPolicy === RemovalPolicy.DESTROY) warnBucketsAreNotEmptied(this);
  }

  private newAccessLogBucket(props: DocumentStorageProps): s3.Bucket {
    const logBucket = new s3.Bucket(this, 'AccessLogs', {
      // S3 server access logging can deliver only to a bucket encrypted with SSE-S3.
      encryption: s3.BucketEncryption.S3_MANAGED,
      versioned: true,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          id: 'expire-access-logs',
          expiration: Duration.days(props.accessLogExpiryDays),
          noncurrentVersionExpiration: Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: props.removalPolicy,
    });
    Validations.of(logBucket).acknowledge(
      {
        id: 'HIPAA.Security-S3DefaultEncryptionKMS',
        reason:
          'S3 server access logging delivers only to buckets encrypted with SSE-S3 (AES-256); the logs hold request metadata, and object keys carry ids, never file names.',
      },
      {
        id: 'HIPAA.Security-S3BucketReplicationEnabled',
        reason: 'Access logs of a single-region bucket; versioning and the lifecycle rule keep them for the configured period.',
      },
    );
    return logBucket;
  }
}

/**
 * Deliberately no `autoDeleteObjects`: that adds a deploy-time function outside the VPC whose role
 * may delete every object version of the PHI bucket. With `destroy`, CloudFormation deletes the
 * buckets only once they are empty (all versions), so stack deletion fails until an operator has
 * emptied them; say so at synth.
 */
function warnBucketsAreNotEmptied(scope: Construct): void {
  Annotations.of(scope).addWarningV2(
    'untxt:destroyNeedsEmptyBuckets',
    'dataRemovalPolicy=destroy: the documents, models and access-log buckets are versioned and are not emptied automatically; empty them (every version) before deleting the stack, or the deletion fails.',
  );
}

function documentLifecycleRules(props: DocumentStorageProps): s3.LifecycleRule[] {
  return [
    {
      // Deleting a task deletes every version; this bounds what an overwrite or a missed version leaves behind.
      id: 'expire-noncurrent-versions',
      noncurrentVersionExpiration: Duration.days(1),
      abortIncompleteMultipartUploadAfter: Duration.days(1),
      expiredObjectDeleteMarker: true,
    },
    { id: 'expire-uploads', prefix: UPLOADS_PREFIX, expiration: Duration.days(props.uploadExpiryDays) },
    { id: 'expire-results', prefix: RESULTS_PREFIX, expiration: Duration.days(props.resultExpiryDays) },
  ];
}

/** Browsers PUT uploads and GET results with presigned URLs; the signed headers must be allowed. */
function corsRules(origins: readonly string[]): s3.CorsRule[] | undefined {
  if (origins.length === 0) return undefined;
  return [
    {
      allowedOrigins: [...origins],
      allowedMethods: [s3.HttpMethods.PUT, s3.HttpMethods.GET, s3.HttpMethods.HEAD],
      allowedHeaders: ['content-type', 'x-amz-checksum-sha256'],
      exposedHeaders: ['ETag'],
      maxAge: 3000,
    },
  ];
}

/**
 * Objects must be encrypted with our key: refuse SSE-C and any other key or algorithm. The
 * conditions are `IfExists`, so a PUT that sends no encryption headers (presigned uploads rely on
 * the bucket default) is not refused.
 */
function denyForeignEncryption(bucket: s3.Bucket, key: kms.IKey): void {
  const objects = bucket.arnForObjects('*');
  bucket.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'DenySseC',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['s3:PutObject'],
      resources: [objects],
      conditions: { Null: { 's3:x-amz-server-side-encryption-customer-algorithm': 'false' } },
    }),
  );
  bucket.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'DenyOtherKmsKeys',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['s3:PutObject'],
      resources: [objects],
      conditions: { StringNotEqualsIfExists: { 's3:x-amz-server-side-encryption-aws-kms-key-id': key.keyArn } },
    }),
  );
  bucket.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'DenyOtherEncryptionAlgorithms',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['s3:PutObject'],
      resources: [objects],
      conditions: { StringNotEqualsIfExists: { 's3:x-amz-server-side-encryption': 'aws:kms' } },
    }),
  );
}
