import { RemovalPolicy } from 'aws-cdk-lib';
import type { DataRemovalPolicy } from './config';

/** For resources that cannot be snapshotted (buckets, keys, log groups), "snapshot" means keep them. */
export function removalPolicyFor(policy: DataRemovalPolicy): RemovalPolicy {
  return policy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
}

/** For the database, where CloudFormation can take a final snapshot before deleting it. */
export function databaseRemovalPolicyFor(policy: DataRemovalPolicy): RemovalPolicy {
  switch (policy) {
    case 'destroy':
      return RemovalPolicy.DESTROY;
    case 'snapshot':
      return RemovalPolicy.SNAPSHOT;
    case 'retain':
      return RemovalPolicy.RETAIN;
  }
}
