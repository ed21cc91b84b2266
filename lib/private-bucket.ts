import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';

/**
 * What every bucket of ours that holds data has in common: our customer-managed key (with a
 * bucket key: one KMS data key per bucket instead of one call per object — cheaper, still our
 * key), versioning, TLS 1.2 only, no public access, no ACLs, and server access logs under a
 * prefix of the access-log bucket.
 */
export function privateBucketProps(key: kms.IKey, accessLogs: { bucket: s3.IBucket; prefix: string }): s3.BucketProps {
  return {
    encryption: s3.BucketEncryption.KMS,
    encryptionKey: key,
    bucketKeyEnabled: true,
    versioned: true,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    serverAccessLogsBucket: accessLogs.bucket,
    serverAccessLogsPrefix: accessLogs.prefix,
  };
}
