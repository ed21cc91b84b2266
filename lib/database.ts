import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** Login roles the migration trigger creates (granted `rds_iam`); the only users IAM may connect as. */
export const DATABASE_LOGIN_ROLES = ['untxt_api', 'untxt_worker'] as const;
export type DatabaseLoginRole = (typeof DATABASE_LOGIN_ROLES)[number];

export const DATABASE_NAME = 'untxt';
export const DATABASE_PORT = 5432;
const MASTER_USERNAME = 'untxt_admin';

/** 16.x supports a 0 ACU minimum (auto-pause) from 16.3 on. */
const ENGINE_VERSION = rds.AuroraPostgresEngineVersion.VER_16_9;

export interface DatabaseProps {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly dataKey: kms.IKey;
  readonly logKey: kms.IKey;
  readonly logRetentionDays: number;
  readonly minCapacity: number;
  readonly maxCapacity: number;
  readonly backupRetentionDays: number;
  readonly deletionProtection: boolean;
  /** For the cluster itself: retain, snapshot or destroy. */
  readonly removalPolicy: RemovalPolicy;
  /** For its log group (which cannot be snapshotted). */
  readonly logRemovalPolicy: RemovalPolicy;
}

/**
 * Aurora PostgreSQL Serverless v2 in the isolated subnets: storage and master secret encrypted
 * with the data key, TLS forced, IAM authentication on, connections only from security groups that
 * are explicitly allowed. RDS manages (and rotates) the master password in Secrets Manager.
 */
export class Database extends Construct {
  readonly cluster: rds.DatabaseCluster;
  /** Master credentials ({username, password}); for the migration trigger only. */
  readonly masterSecret: secretsmanager.ISecret;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly hostname: string;
  readonly port = DATABASE_PORT;
  readonly databaseName = DATABASE_NAME;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    // A fixed physical name on purpose: the log group RDS exports to is named after the cluster, and
    // only a known name lets it be created first, encrypted and with a retention. The price: a change
    // that needs a replacement of the cluster (e.g. engine family, KMS key, subnet group) or of the log
    // group fails at deploy, because the new resource's name is taken by the old one. Such a change
    // needs a new stack name (or a manual rename), and a data migration (README "Design notes").
    const clusterIdentifier = `${Stack.of(this).stackName}-postgres`.toLowerCase().replace(/[^a-z0-9]+/g, '-');
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Aurora PostgreSQL: 5432 from allowed security groups only',
      allowAllOutbound: false,
    });
    // RDS would create the export log group itself, unencrypted and kept forever; create it first.
    const logGroup = new logs.LogGroup(this, 'PostgresLogs', {
      logGroupName: `/aws/rds/cluster/${clusterIdentifier}/postgresql`,
      encryptionKey: props.logKey,
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: props.logRemovalPolicy,
    });
    this.cluster = new rds.DatabaseCluster(this, 'Cluster', {
      clusterIdentifier,
      engine: rds.DatabaseClusterEngine.auroraPostgres({ version: ENGINE_VERSION }),
      writer: rds.ClusterInstance.serverlessV2('Writer', { autoMinorVersionUpgrade: true }),
      serverlessV2MinCapacity: props.minCapacity,
      serverlessV2MaxCapacity: props.maxCapacity,
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      securityGroups: [this.securityGroup],
      port: DATABASE_PORT,
      defaultDatabaseName: DATABASE_NAME,
      credentials: rds.Credentials.fromUsername(MASTER_USERNAME, { encryptionKey: props.dataKey }),
      manageMasterUserPassword: true,
      storageEncrypted: true,
      storageEncryptionKey: props.dataKey,
      iamAuthentication: true,
      parameters: {
        'rds.force_ssl': '1',
        // Who connected and when, for the audit trail; statements are not logged (they may hold PHI).
        log_connections: '1',
        log_disconnections: '1',
      },
      backup: { retention: Duration.days(props.backupRetentionDays), preferredWindow: '03:00-04:00' },
      preferredMaintenanceWindow: 'sun:04:30-sun:05:30',
      deletionProtection: props.deletionProtection,
      copyTagsToSnapshot: true,
      cloudwatchLogsExports: ['postgresql'],
      monitoringInterval: Duration.seconds(60),
      removalPolicy: props.removalPolicy,
    });
    this.cluster.node.addDependency(logGroup);
    this.acknowledgeFindings(props);
    if (!this.cluster.secret) throw new Error('RDS-managed master secret missing');
    this.masterSecret = this.cluster.secret;
    this.hostname = this.cluster.clusterEndpoint.hostname;
  }

  private acknowledgeFindings(props: DatabaseProps): void {
    const monitoringRole = this.cluster.node.tryFindChild('MonitoringRole');
    if (monitoringRole) {
      Validations.of(monitoringRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]',
        reason:
          'The AWS managed service-role policy for Enhanced Monitoring: it only lets RDS publish OS metrics to the RDSOSMetrics log group, and AWS keeps it in step with the service.',
      });
    }
    Validations.of(this.cluster).acknowledge({
      id: 'HIPAA.Security-RDSInBackupPlan',
      reason: `Aurora's continuous automated backups (point-in-time restore over ${props.backupRetentionDays} days, configurable up to 35) are the recovery mechanism, with deletion protection configurable and a final snapshot or retention on stack deletion.`,
    });
  }

  /** Opens 5432 from the given resources' security groups (and their egress to the cluster). */
  allowConnectionsFrom(...resources: ec2.IConnectable[]): void {
    for (const resource of resources) {
      // The literal port, not the cluster's endpoint-port token, so the rule is checkable at synth.
      this.cluster.connections.allowFrom(resource, ec2.Port.tcp(DATABASE_PORT), 'PostgreSQL from an allowed function');
    }
  }

  /** `rds-db:connect` as one of the IAM login roles; combine with `allowConnectionsFrom`. */
  grantConnect(grantee: iam.IGrantable, dbUser: DatabaseLoginRole): iam.Grant {
    return this.cluster.grantConnect(grantee, dbUser);
  }

  /** Environment variables a function needs to connect with IAM authentication. */
  connectionEnvironment(dbUser: DatabaseLoginRole): Record<string, string> {
    return { ...this.serverEnvironment(), DB_USER: dbUser };
  }

  /**
   * connectionEnvironment for a Lambda function, plus the runtime's CA bundle: it holds the RDS
   * CAs, and Node 20+ Lambda runtimes do not load it unless asked. Without a user (the migration
   * function, which logs in with the master secret) there is no DB_USER.
   */
  lambdaConnectionEnvironment(dbUser?: DatabaseLoginRole): Record<string, string> {
    return {
      ...(dbUser === undefined ? this.serverEnvironment() : this.connectionEnvironment(dbUser)),
      NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
    };
  }

  private serverEnvironment(): Record<string, string> {
    return { DB_HOST: this.hostname, DB_PORT: String(this.port), DB_NAME: this.databaseName };
  }
}
