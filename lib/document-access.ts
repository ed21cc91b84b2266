import { Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import { RESULTS_PREFIX, UPLOADS_PREFIX } from './storage';

/** The documents bucket and the key its objects are encrypted with. */
export interface DocumentBucket {
  readonly bucket: s3.IBucket;
  readonly encryptionKey: kms.IKey;
}

export type DocumentPrefix = typeof UPLOADS_PREFIX | typeof RESULTS_PREFIX;

/**
 * Least-privilege S3 grants on the documents bucket, one per kind of use, each limited to one
 * prefix. A presigned URL runs with the permissions of the role that signed it, so a handler
 * that presigns holds exactly what the URL may do. KMS use is allowed only through S3
 * (`kms:ViaService`), never as a direct call.
 */
export class DocumentAccess {
  constructor(private readonly documents: DocumentBucket) {}

  /** Presigned PUTs under uploads/: PutObject, and the data key S3 encrypts the object under. */
  grantPresignUpload(grantee: iam.IGrantable): void {
    this.allow(grantee, ['s3:PutObject'], [this.objects(UPLOADS_PREFIX)]);
    this.acknowledgePrefix(grantee, UPLOADS_PREFIX, 'Presigned uploads (PutObject) of');
    this.allowKmsViaS3(grantee, ['kms:GenerateDataKey']);
  }

  /**
   * Reading objects (whole or by byte range, and their size and checksum) under one prefix.
   * ListBucket makes S3 answer 404 rather than 403 for a missing object, which the object store
   * reports as missing. It is limited by `s3:prefix` to the same prefix, so the role can never
   * list (or learn keys of) the other area of the bucket; a listing without a prefix is refused.
   */
  grantRead(grantee: iam.IGrantable, prefix: DocumentPrefix): void {
    this.allow(grantee, ['s3:GetObject', 's3:GetObjectAttributes'], [this.objects(prefix)]);
    this.acknowledgePrefix(grantee, prefix, 'Reading (GetObject, GetObjectAttributes)');
    this.allow(grantee, ['s3:ListBucket'], [this.documents.bucket.bucketArn], { StringLike: { 's3:prefix': [`${prefix}*`] } });
    this.allowKmsViaS3(grantee, ['kms:Decrypt']);
  }

  /** Writing objects under one prefix (PutObject), encrypted by S3 with the data key. */
  grantWrite(grantee: iam.IGrantable, prefix: DocumentPrefix): void {
    this.allow(grantee, ['s3:PutObject'], [this.objects(prefix)]);
    this.acknowledgePrefix(grantee, prefix, 'Writing (PutObject)');
    this.allowKmsViaS3(grantee, ['kms:GenerateDataKey']);
  }

  /** Erasing every version of objects under the given prefixes (list versions, delete versions). */
  grantErase(grantee: iam.IGrantable, prefixes: readonly DocumentPrefix[]): void {
    this.allow(grantee, ['s3:ListBucketVersions'], [this.documents.bucket.bucketArn], {
      StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) },
    });
    this.allow(
      grantee,
      ['s3:DeleteObjectVersion'],
      prefixes.map((p) => this.objects(p)),
    );
    for (const p of prefixes) this.acknowledgePrefix(grantee, p, 'Erasing every version (DeleteObjectVersion) of');
  }

  /** The object ARNs of a prefix hold a wildcard by nature; each is acknowledged on the role that gets it. */
  private acknowledgePrefix(grantee: iam.IGrantable, prefix: DocumentPrefix, use: string): void {
    const bucketId = Stack.of(this.documents.bucket).getLogicalId(this.documents.bucket.node.defaultChild as CfnElement);
    Validations.of(grantee.grantPrincipal as unknown as IConstruct).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`,
      reason: `${use} objects under ${prefix} only; object keys hold generated ids (DESIGN "Storage"), unknown until a task exists, so the prefix is the narrowest static scope, and the owner check is done by the handler against the database.`,
    });
  }

  private objects(prefix: DocumentPrefix): string {
    return this.documents.bucket.arnForObjects(`${prefix}*`);
  }

  private allow(grantee: iam.IGrantable, actions: string[], resources: string[], conditions?: Record<string, unknown>): void {
    grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources, ...(conditions ? { conditions } : {}) }));
  }

  private allowKmsViaS3(grantee: iam.IGrantable, actions: string[]): void {
    const { region } = Stack.of(this.documents.bucket);
    this.allow(grantee, actions, [this.documents.encryptionKey.keyArn], {
      StringEquals: { 'kms:ViaService': `s3.${region}.amazonaws.com` },
    });
  }
}
