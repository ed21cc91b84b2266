import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { synthUntxt } from './support/synth';
import { endpointServiceSuffix, logicalIdOf, resourceById, type CfnResourceJson } from './support/template';

// Prepare: one synthesis for the whole file, with browser origins set so CORS is rendered.
const { stack, template } = synthUntxt({
  context: { 'untxt:corsAllowedOrigins': 'https://app.example.com,http://localhost:5173' },
});
const ref = (construct: Parameters<typeof logicalIdOf>[1]) => ({ Ref: logicalIdOf(stack, construct) });
const arnOf = (construct: Parameters<typeof logicalIdOf>[1]) => ({ 'Fn::GetAtt': [logicalIdOf(stack, construct), 'Arn'] });
const resourcesOfType = (type: string): CfnResourceJson[] =>
  Object.values(template.findResources(type)) as CfnResourceJson[];

interface PolicyStatementJson {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Principal?: { readonly Service?: unknown; readonly AWS?: unknown };
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: Record<string, unknown>;
}
const keyStatements = (key: Parameters<typeof logicalIdOf>[1]): PolicyStatementJson[] =>
  (resourceById(template, logicalIdOf(stack, key)).Properties.KeyPolicy as { Statement: PolicyStatementJson[] }).Statement;
const isServicePrincipal = (st: PolicyStatementJson, service: string): boolean =>
  JSON.stringify(st.Principal?.Service) === JSON.stringify(service);

describe('the KMS keys', () => {
  it('are seven customer-managed keys (six of Keys, and the models bucket\'s), all with rotation on', () => {
    // Act
    const keys = resourcesOfType('AWS::KMS::Key');

    // Assess
    expect(keys).toHaveLength(7);
    for (const key of keys) expect(key.Properties.EnableKeyRotation).toBe(true);
  });

  it('are retained on stack deletion by default', () => {
    // Act
    const keys = resourcesOfType('AWS::KMS::Key');

    // Assess
    for (const key of keys) expect(key.DeletionPolicy).toBe('Retain');
  });

  it('let CloudWatch Logs use the logs key only for log groups of this account', () => {
    // Assess
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
            Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': Match.anyValue() } },
          }),
        ]),
      },
    });
  });
  it('let EC2 Auto Scaling\'s service-linked role use the GPU volumes key in the documented form, named by a condition', () => {
    // Prepare
    const roleArn = {
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling']],
    };

    // Act
    const statements = keyStatements(stack.keys.gpuVolumes).filter((st) => JSON.stringify(st).includes('AWSServiceRoleForAutoScaling'));

    // Assess
    expect(statements).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { AWS: '*' },
        // CDK sorts the actions.
        Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'],
        Condition: { ArnEquals: { 'aws:PrincipalArn': roleArn } },
      }),
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 'kms:CreateGrant',
        Condition: { ArnEquals: { 'aws:PrincipalArn': roleArn }, Bool: { 'kms:GrantIsForAWSResource': true } },
      }),
    ]);
  });

  it('let no one but the account use the documents\' data key: no Auto Scaling statement, no statement for any principal', () => {
    // Act
    const statements = keyStatements(stack.keys.data);

    // Assess
    expect(JSON.stringify(statements)).not.toContain('autoscaling');
    expect(statements.filter((st) => JSON.stringify(st.Principal) === JSON.stringify({ AWS: '*' }))).toEqual([]);
  });

  it('give the GPU volumes key an alias', () => {
    // Assess
    template.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: Match.stringLikeRegexp('/gpu-volumes$'),
      TargetKeyId: arnOf(stack.keys.gpuVolumes),
    });
  });
});

describe('the network', () => {
  it('has no NAT gateway, internet gateway or elastic IP', () => {
    // Assess
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    template.resourceCountIs('AWS::EC2::EIP', 0);
  });

  it('has two isolated subnets whose route tables have no default route', () => {
    // Act
    const subnets = resourcesOfType('AWS::EC2::Subnet');

    // Assess
    expect(subnets).toHaveLength(2);
    for (const subnet of subnets) expect(subnet.Properties.MapPublicIpOnLaunch).toBe(false);
    template.resourceCountIs('AWS::EC2::Route', 0);
  });

  it('has gateway endpoints for S3 and DynamoDB', () => {
    // Act
    const gateways = resourcesOfType('AWS::EC2::VPCEndpoint').filter((e) => e.Properties.VpcEndpointType === 'Gateway');

    // Assess
    expect(gateways.map((e) => endpointServiceSuffix(e.Properties.ServiceName)).sort()).toEqual(['dynamodb', 's3']);
  });

  it('has private-DNS interface endpoints for what the VPC compute calls, and no KMS endpoint', () => {
    // Act
    const interfaces = resourcesOfType('AWS::EC2::VPCEndpoint').filter((e) => e.Properties.VpcEndpointType === 'Interface');

    // Assess
    expect(interfaces.map((e) => endpointServiceSuffix(e.Properties.ServiceName)).sort()).toEqual(
      ['ecr.api', 'ecr.dkr', 'ecs', 'ecs-agent', 'ecs-telemetry', 'events', 'logs', 'secretsmanager', 'sqs'].sort(),
    );
    for (const endpoint of interfaces) expect(endpoint.Properties.PrivateDnsEnabled).toBe(true);
  });

  it('admits HTTPS to the interface endpoints only from the security groups given egress to them', () => {
    // Act
    const endpointSgId = logicalIdOf(stack, stack.network.endpointSecurityGroup);
    const endpointSg = resourceById(template, endpointSgId);
    const ingress = resourcesOfType('AWS::EC2::SecurityGroupIngress').filter(
      (r) => JSON.stringify(r.Properties.GroupId) === JSON.stringify({ 'Fn::GetAtt': [endpointSgId, 'GroupId'] }),
    );
    const egressToEndpoints = resourcesOfType('AWS::EC2::SecurityGroupEgress').filter(
      (r) => JSON.stringify(r.Properties.DestinationSecurityGroupId) === JSON.stringify({ 'Fn::GetAtt': [endpointSgId, 'GroupId'] }),
    );

    // Assess
    expect(endpointSg.Properties.SecurityGroupIngress).toBeUndefined();
    expect(egressToEndpoints.length).toBeGreaterThan(0);
    expect(ingress.map((r) => r.Properties.SourceSecurityGroupId)).toEqual(egressToEndpoints.map((r) => r.Properties.GroupId));
    for (const rule of [...ingress, ...egressToEndpoints]) {
      expect(rule.Properties).toMatchObject({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443 });
    }
  });

  describe('gateway endpoint policy', () => {
    const policyOf = (endpoint: Parameters<typeof logicalIdOf>[1]) =>
      (resourceById(template, logicalIdOf(stack, endpoint)).Properties.PolicyDocument as { Statement: PolicyStatementJson[] } | undefined)
        ?.Statement;
    const documents = arnOf(stack.storage.bucket);
    const table = arnOf(stack.connections.table);

    it('lets S3 reach only the documents bucket, the models bucket (read) and the regional ECR image-layer bucket', () => {
      // Act
      const statements = policyOf(stack.network.s3Endpoint);

      // Assess
      expect(statements).toEqual([
        {
          Effect: 'Allow',
          Principal: { AWS: '*' },
          Action: 's3:GetObject',
          Resource: {
            'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::prod-', { Ref: 'AWS::Region' }, '-starport-layer-bucket/*']],
          },
        },
        {
          Effect: 'Allow',
          Principal: { AWS: '*' },
          Action: expect.arrayContaining(['s3:GetObject', 's3:PutObject', 's3:DeleteObjectVersion', 's3:ListBucketVersions']),
          Resource: [documents, { 'Fn::Join': ['', [documents, '/*']] }],
        },
        {
          Effect: 'Allow',
          Principal: { AWS: '*' },
          Action: ['s3:GetObject', 's3:GetObjectAttributes', 's3:GetObjectVersion', 's3:ListBucket', 's3:ListBucketVersions'],
          Resource: [arnOf(stack.models.bucket), { 'Fn::Join': ['', [arnOf(stack.models.bucket), '/*']] }],
        },
      ]);
      expect(JSON.stringify(statements)).not.toMatch(/"s3:\*"|"s3:Put(Bucket|Lifecycle|Encryption)/);
    });

    it('lets DynamoDB reach only the connections and tickets tables and their indexes', () => {
      // Act
      const statements = policyOf(stack.network.dynamoDbEndpoint);

      // Assess
      const tables = [table, arnOf(stack.tickets.table)];
      expect(statements).toEqual([
        {
          Effect: 'Allow',
          Principal: { AWS: '*' },
          Action: 'dynamodb:*',
          Resource: expect.arrayContaining(tables.flatMap((t) => [t, { 'Fn::Join': ['', [t, '/index/*']] }])),
        },
      ]);
      expect(statements![0]!.Resource).toHaveLength(4);
    });
  });

  it('restricts the default security group', () => {
    // Assess
    template.resourceCountIs('Custom::VpcRestrictDefaultSG', 1);
  });

  it('records all traffic in flow logs sent to a KMS-encrypted log group', () => {
    // Assess
    template.hasResourceProperties('AWS::EC2::FlowLog', {
      ResourceType: 'VPC',
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
      LogGroupName: ref(stack.network.flowLogGroup),
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      KmsKeyId: arnOf(stack.keys.logs),
      RetentionInDays: 365,
    });
  });
});

describe('every log group', () => {
  it('is encrypted with the logs key and has a retention period', () => {
    // Act
    const groups = resourcesOfType('AWS::Logs::LogGroup');

    // Assess
    expect(groups.length).toBeGreaterThanOrEqual(3);
    for (const group of groups) {
      expect(group.Properties.KmsKeyId).toEqual(arnOf(stack.keys.logs));
      expect(group.Properties.RetentionInDays).toBe(365);
    }
  });
});

describe('the documents bucket', () => {
  const bucketId = () => logicalIdOf(stack, stack.storage.bucket);
  const bucket = () => resourceById(template, bucketId());

  it('encrypts with the data key and an S3 bucket key', () => {
    // Assess
    expect(bucket().Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [
        {
          BucketKeyEnabled: true,
          ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: arnOf(stack.keys.data) },
        },
      ],
    });
  });

  it('is versioned, owner-enforced and blocks all public access', () => {
    // Assess
    expect(bucket().Properties).toMatchObject({
      VersioningConfiguration: { Status: 'Enabled' },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
  });

  it('expires noncurrent versions after a day, aborts stale multipart uploads and expires uploads/ and results/', () => {
    // Act
    const rules = (bucket().Properties.LifecycleConfiguration as { Rules: Record<string, unknown>[] }).Rules;

    // Assess
    expect(rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          NoncurrentVersionExpiration: { NoncurrentDays: 1 },
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          Status: 'Enabled',
        }),
        expect.objectContaining({ Prefix: 'uploads/', ExpirationInDays: 7, Status: 'Enabled' }),
        expect.objectContaining({ Prefix: 'results/', ExpirationInDays: 90, Status: 'Enabled' }),
      ]),
    );
  });

  it('writes server access logs to the access-log bucket', () => {
    // Assess
    expect(bucket().Properties.LoggingConfiguration).toEqual({
      DestinationBucketName: ref(stack.storage.accessLogBucket),
      LogFilePrefix: 'documents/',
    });
  });

  it('allows browser PUT and GET from the configured origins with the signed headers, exposing ETag', () => {
    // Assess
    expect(bucket().Properties.CorsConfiguration).toEqual({
      CorsRules: [
        {
          AllowedOrigins: ['https://app.example.com', 'http://localhost:5173'],
          AllowedMethods: ['PUT', 'GET', 'HEAD'],
          AllowedHeaders: ['content-type', 'x-amz-checksum-sha256'],
          ExposedHeaders: ['ETag'],
          MaxAge: 3000,
        },
      ],
    });
  });

  it('is retained on stack deletion by default', () => {
    // Assess
    expect(bucket().DeletionPolicy).toBe('Retain');
  });

  it('raises no warning about emptying buckets when data is retained', () => {
    // Assess
    Annotations.fromStack(stack).hasNoWarning('/Untxt/Storage', Match.anyValue());
  });

  describe('policy', () => {
    const statements = () => {
      const policies = Object.values(template.findResources('AWS::S3::BucketPolicy', { Properties: { Bucket: { Ref: bucketId() } } }));
      expect(policies).toHaveLength(1);
      return (policies[0] as CfnResourceJson).Properties.PolicyDocument as { Statement: Record<string, unknown>[] };
    };
    const objects = () => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId(), 'Arn'] }, '/*']] });

    it('denies requests without TLS and below TLS 1.2', () => {
      // Assess
      expect(statements().Statement).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
        ]),
      );
    });

    it('denies uploads with customer-provided keys (SSE-C)', () => {
      // Assess
      expect(statements().Statement).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: 's3:PutObject',
          Resource: objects(),
          Condition: { Null: { 's3:x-amz-server-side-encryption-customer-algorithm': 'false' } },
        }),
      );
    });

    it('denies another KMS key or algorithm only when one is named, so uploads relying on the default pass', () => {
      // Assess
      expect(statements().Statement).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Effect: 'Deny',
            Action: 's3:PutObject',
            Resource: objects(),
            Condition: {
              StringNotEqualsIfExists: { 's3:x-amz-server-side-encryption-aws-kms-key-id': arnOf(stack.keys.data) },
            },
          }),
          expect.objectContaining({
            Effect: 'Deny',
            Action: 's3:PutObject',
            Resource: objects(),
            Condition: { StringNotEqualsIfExists: { 's3:x-amz-server-side-encryption': 'aws:kms' } },
          }),
        ]),
      );
    });
  });
});

describe('the access-log bucket', () => {
  const bucket = () => resourceById(template, logicalIdOf(stack, stack.storage.accessLogBucket));

  it('uses SSE-S3 (the only encryption log delivery supports), versioning and a full public access block', () => {
    // Assess
    expect(bucket().Properties).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      VersioningConfiguration: { Status: 'Enabled' },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
  });

  it('expires logs after the configured period', () => {
    // Assess
    expect(bucket().Properties.LifecycleConfiguration).toEqual({
      Rules: [expect.objectContaining({ ExpirationInDays: 365, NoncurrentVersionExpiration: { NoncurrentDays: 30 } })],
    });
  });

  it('is TLS-only and accepts writes from S3 log delivery only for the documents and models buckets', () => {
    // Act
    const [policy, ...others] = resourcesOfType('AWS::S3::BucketPolicy').filter(
      (p) => JSON.stringify(p.Properties.Bucket) === JSON.stringify(ref(stack.storage.accessLogBucket)),
    );
    const statements = (policy!.Properties.PolicyDocument as { Statement: PolicyStatementJson[] }).Statement;
    const logDelivery = statements.filter((st) => isServicePrincipal(st, 'logging.s3.amazonaws.com'));
    const sourceArns = logDelivery.map((st) => st.Condition?.ArnLike);

    // Assess
    expect(others).toHaveLength(0);
    expect(statements).toEqual(
      expect.arrayContaining([expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
    );
    for (const st of logDelivery) expect(st.Effect).toBe('Allow');
    expect(sourceArns).toHaveLength(2);
    expect(sourceArns).toEqual(
      expect.arrayContaining([{ 'aws:SourceArn': arnOf(stack.storage.bucket) }, { 'aws:SourceArn': arnOf(stack.models.bucket) }]),
    );
  });
});

describe('the queues', () => {
  const queue = (q: Parameters<typeof logicalIdOf>[1]) => resourceById(template, logicalIdOf(stack, q));
  const { intake, intakeDeadLetter, jobs, jobsDeadLetter } = stack.queues;

  it('are all encrypted with the queue key, not the data key', () => {
    // Act
    const queues = resourcesOfType('AWS::SQS::Queue');

    // Assess: the four pipeline queues, the sweeper's dead-letter queue and the notifier's two.
    expect(queues).toHaveLength(7);
    for (const q of queues) expect(q.Properties.KmsMasterKeyId).toEqual(arnOf(stack.keys.queues));
  });

  it('send failed messages to their own dead-letter queue after the configured receive count', () => {
    // Assess
    expect(queue(intake).Properties.RedrivePolicy).toEqual({ deadLetterTargetArn: arnOf(intakeDeadLetter), maxReceiveCount: 5 });
    expect(queue(jobs).Properties.RedrivePolicy).toEqual({ deadLetterTargetArn: arnOf(jobsDeadLetter), maxReceiveCount: 10 });
  });

  it('keep dead letters (14 days) longer than the source queues keep messages', () => {
    // Act
    const retention = (q: Parameters<typeof logicalIdOf>[1]) => queue(q).Properties.MessageRetentionPeriod as number;

    // Assess
    expect(retention(intakeDeadLetter)).toBe(14 * 86_400);
    expect(retention(jobsDeadLetter)).toBe(14 * 86_400);
    expect(retention(intake)).toBeLessThan(retention(intakeDeadLetter));
    expect(retention(jobs)).toBeLessThan(retention(jobsDeadLetter));
  });

  it('give intake six times its function timeout and jobs a heartbeat-sized visibility timeout', () => {
    // Assess
    expect(queue(intake).Properties.VisibilityTimeout).toBe(720);
    expect(queue(jobs).Properties.VisibilityTimeout).toBe(300);
  });

  it('refuse requests without TLS', () => {
    // Act
    const policies = resourcesOfType('AWS::SQS::QueuePolicy');

    // Assess
    for (const q of [intake, intakeDeadLetter, jobs, jobsDeadLetter]) {
      const policy = policies.find((p) => JSON.stringify(p.Properties.Queues) === JSON.stringify([ref(q)]));
      expect(policy?.Properties.PolicyDocument).toMatchObject({
        Statement: expect.arrayContaining([
          expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      });
    }
  });

  it('receive ObjectCreated notifications for uploads/ only, on the intake queue', () => {
    // Assess
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: ref(stack.storage.bucket),
      NotificationConfiguration: {
        QueueConfigurations: [
          {
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'uploads/' }] } },
            QueueArn: arnOf(intake),
          },
        ],
      },
    });
  });

  it('let S3 use the queue key, for notifications from the documents bucket only', () => {
    // Act
    const s3Statements = keyStatements(stack.keys.queues).filter((st) => isServicePrincipal(st, 's3.amazonaws.com'));

    // Assess
    expect(s3Statements).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Condition: {
          ArnLike: { 'aws:SourceArn': arnOf(stack.storage.bucket) },
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
        },
      }),
    ]);
  });

  it('let S3 send to the intake queue only from the documents bucket of this account', () => {
    // Act
    const policy = resourcesOfType('AWS::SQS::QueuePolicy').find(
      (p) => JSON.stringify(p.Properties.Queues) === JSON.stringify([ref(intake)]),
    );
    const statements = (policy?.Properties.PolicyDocument as { Statement: PolicyStatementJson[] }).Statement;

    // Assess
    expect(statements.filter((st) => isServicePrincipal(st, 's3.amazonaws.com'))).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Action: 'sqs:SendMessage',
        Resource: arnOf(intake),
        Condition: {
          ArnLike: { 'aws:SourceArn': arnOf(stack.storage.bucket) },
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
        },
      }),
    ]);
  });
});

describe('every key policy', () => {
  it('lets AWS services in only under a condition, apart from EventBridge reading key metadata', () => {
    // Act
    const unconditioned = resourcesOfType('AWS::KMS::Key')
      .flatMap((key) => (key.Properties.KeyPolicy as { Statement: PolicyStatementJson[] }).Statement)
      .filter((st) => st.Principal?.Service !== undefined && st.Condition === undefined);

    // Assess: DescribeKey returns the key's metadata only, never key material or data.
    expect(unconditioned).toEqual(
      unconditioned.map(() => expect.objectContaining({ Principal: { Service: 'events.amazonaws.com' }, Action: 'kms:DescribeKey' })),
    );
  });
});

describe('the event bus', () => {
  it('is named untxt', () => {
    // Assess
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'untxt' });
  });

  it('archives untxt.tasks events for the configured period, encrypted with the events key', () => {
    // Assess
    template.hasResourceProperties('AWS::Events::Archive', {
      SourceArn: arnOf(stack.events.bus),
      EventPattern: { source: ['untxt.tasks'] },
      RetentionDays: 30,
      KmsKeyIdentifier: arnOf(stack.keys.events),
    });
  });

  it('encrypts events with the events key, not an AWS-owned key', () => {
    // Assess
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'untxt', KmsKeyIdentifier: arnOf(stack.keys.events) });
  });

  it('lets EventBridge use the events key only for the untxt bus of this account', () => {
    // Prepare
    const busArn = {
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':event-bus/untxt']],
    };

    // Act
    const eventStatements = keyStatements(stack.keys.events).filter((st) => isServicePrincipal(st, 'events.amazonaws.com'));
    const dataActions = eventStatements.filter((st) => [st.Action].flat().some((a) => a !== 'kms:DescribeKey'));

    // Assess
    expect(dataActions.length).toBeGreaterThanOrEqual(2);
    for (const st of dataActions) {
      expect(st.Condition).toMatchObject({ StringEquals: expect.objectContaining({ 'kms:EncryptionContext:aws:events:event-bus:arn': busArn }) });
    }
    expect(dataActions).toContainEqual(
      expect.objectContaining({
        Condition: { StringEquals: expect.objectContaining({ 'aws:SourceArn': busArn, 'aws:SourceAccount': { Ref: 'AWS::AccountId' } }) },
      }),
    );
  });

  it('is the only user of the events key', () => {
    // Act
    const services = keyStatements(stack.keys.events).flatMap((st) => (st.Principal?.Service ? [st.Principal.Service] : []));

    // Assess
    expect(new Set(services)).toEqual(new Set(['events.amazonaws.com']));
  });
});

describe('the database', () => {
  const cluster = () => resourceById(template, logicalIdOf(stack, stack.database.cluster));

  it('is Aurora PostgreSQL 16 Serverless v2 whose minimum capacity may be 0', () => {
    // Assess
    expect(cluster().Properties).toMatchObject({
      Engine: 'aurora-postgresql',
      EngineVersion: expect.stringMatching(/^16\./),
      ServerlessV2ScalingConfiguration: { MinCapacity: 0, MaxCapacity: 4 },
    });
    template.hasResourceProperties('AWS::RDS::DBInstance', { DBInstanceClass: 'db.serverless', PubliclyAccessible: false });
  });

  it('encrypts storage and the RDS-managed master secret with the data key', () => {
    // Assess
    expect(cluster().Properties).toMatchObject({
      StorageEncrypted: true,
      KmsKeyId: arnOf(stack.keys.data),
      ManageMasterUserPassword: true,
      MasterUserSecret: { KmsKeyId: arnOf(stack.keys.data) },
    });
  });

  it('has IAM authentication, forced TLS and exported PostgreSQL logs', () => {
    // Assess
    expect(cluster().Properties).toMatchObject({
      EnableIAMDatabaseAuthentication: true,
      EnableCloudwatchLogsExports: ['postgresql'],
    });
    template.hasResourceProperties('AWS::RDS::DBClusterParameterGroup', {
      Parameters: Match.objectLike({ 'rds.force_ssl': '1' }),
    });
  });

  it('keeps backups for the configured days, is deletion-protected and retained by default', () => {
    // Assess
    expect(cluster().Properties).toMatchObject({ BackupRetentionPeriod: 7, DeletionProtection: true });
    expect(cluster().DeletionPolicy).toBe('Retain');
  });

  it('lives in the isolated subnets', () => {
    // Act
    const subnetIds = stack.network.vpc.isolatedSubnets.map((s) => ({ Ref: logicalIdOf(stack, s) }));

    // Assess
    template.hasResourceProperties('AWS::RDS::DBSubnetGroup', { SubnetIds: subnetIds });
  });

  it('admits 5432 only from the security groups it was told to allow', () => {
    // Act
    const ingress = resourcesOfType('AWS::EC2::SecurityGroupIngress').filter(
      (r) => JSON.stringify(r.Properties.GroupId) === JSON.stringify({ 'Fn::GetAtt': [logicalIdOf(stack, stack.database.securityGroup), 'GroupId'] }),
    );
    const dbSg = resourceById(template, logicalIdOf(stack, stack.database.securityGroup));

    // Assess
    expect(dbSg.Properties.SecurityGroupIngress).toBeUndefined();
    // The migration trigger, the API provisioning function, the API handlers, the pipeline functions and the GPU worker tasks.
    expect(ingress).toHaveLength(5);
    for (const rule of ingress) {
      expect(rule.Properties).toMatchObject({ IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432 });
      expect(rule.Properties.SourceSecurityGroupId).toBeDefined();
    }
  });

  it('exports its logs to a KMS-encrypted log group created before the cluster', () => {
    // Assess
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/aws/rds/cluster/untxt-postgres/postgresql',
      KmsKeyId: arnOf(stack.keys.logs),
    });
    expect(cluster().Properties.DBClusterIdentifier).toBe('untxt-postgres');
  });
});

describe('the migration trigger', () => {
  /** The endpoint security group's ingress rules admitting this function's security groups. */
  const endpointIngressFrom = (fn: typeof stack.migrations.function): string[] => {
    const sources = fn.connections.securityGroups.map((sg) => JSON.stringify({ 'Fn::GetAtt': [logicalIdOf(stack, sg), 'GroupId'] }));
    const ids = Object.entries(template.findResources('AWS::EC2::SecurityGroupIngress'))
      .filter(([, r]) => sources.includes(JSON.stringify((r as CfnResourceJson).Properties.SourceSecurityGroupId)))
      .filter(([, r]) => (r as CfnResourceJson).Properties.FromPort === 443)
      .map(([id]) => id);
    expect(ids).toHaveLength(1);
    return ids;
  };

  const fn = () => resourceById(template, logicalIdOf(stack, stack.migrations.function));

  it('runs after the cluster, its writer, the Secrets Manager endpoint and the rules that let it reach both', () => {
    // Act
    const trigger = resourcesOfType('Custom::Trigger');

    // Assess
    expect(trigger).toHaveLength(1);
    expect(trigger[0]!.DependsOn).toEqual(
      expect.arrayContaining([
        logicalIdOf(stack, stack.database.cluster),
        logicalIdOf(stack, stack.database.cluster.node.findChild('Writer')),
        logicalIdOf(stack, stack.network.interfaceEndpoints.SecretsManager),
        ...endpointIngressFrom(stack.migrations.function),
      ]),
    );
    expect(trigger[0]!.Properties).toMatchObject({ InvocationType: 'RequestResponse', ExecuteOnHandlerChange: true });
  });

  it('invokes an ARM64 Node.js function in the isolated subnets that trusts the RDS CA bundle', () => {
    // Assess
    expect(fn().Properties).toMatchObject({
      Runtime: expect.stringMatching(/^nodejs(2[2-9]|[3-9]\d)\.x$/),
      Architectures: ['arm64'],
      VpcConfig: { SubnetIds: stack.network.vpc.isolatedSubnets.map((s) => ({ Ref: logicalIdOf(stack, s) })) },
      LoggingConfig: { LogFormat: 'JSON', LogGroup: ref(stack.node.findChild('Migrations').node.findChild('FunctionLogs')) },
      Environment: {
        Variables: expect.objectContaining({
          NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
          NODE_OPTIONS: '--enable-source-maps',
          MASTER_SECRET_ARN: { 'Fn::GetAtt': [logicalIdOf(stack, stack.database.cluster), 'MasterUserSecret.SecretArn'] },
        }),
      },
    });
  });

  it('may read the master secret, and decrypt with the data key only through Secrets Manager', () => {
    // Act
    const roleId = logicalIdOf(stack, stack.migrations.function.role!);
    const policy = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } }))[0] as CfnResourceJson;
    const statements = (policy.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement;
    const secretStatements = statements.filter((st) => [st.Action].flat().some((a) => a.startsWith('secretsmanager:')));

    // Assess
    expect(secretStatements).toEqual([
      expect.objectContaining({
        Action: expect.arrayContaining(['secretsmanager:GetSecretValue']),
        Resource: { 'Fn::GetAtt': [logicalIdOf(stack, stack.database.cluster), 'MasterUserSecret.SecretArn'] },
      }),
    ]);
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'kms:Decrypt',
            Principal: { AWS: { 'Fn::GetAtt': [roleId, 'Arn'] } },
            Condition: { StringEquals: { 'kms:ViaService': Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  it('uses a role without AWS managed policies', () => {
    // Assess
    expect(resourceById(template, logicalIdOf(stack, stack.migrations.function.role!)).Properties.ManagedPolicyArns).toBeUndefined();
  });
});

describe('the connections table', () => {
  const table = () => resourceById(template, logicalIdOf(stack, stack.connections.table));

  it('is keyed by connectionId with a userId index, billed on demand', () => {
    // Assess
    expect(table().Properties).toMatchObject({
      KeySchema: [{ AttributeName: 'connectionId', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      GlobalSecondaryIndexes: [
        { IndexName: 'byUserId', KeySchema: [{ AttributeName: 'userId', KeyType: 'HASH' }], Projection: { ProjectionType: 'KEYS_ONLY' } },
      ],
    });
  });

  it('expires items by TTL, has point-in-time recovery and is encrypted with the realtime key', () => {
    // Assess
    expect(table().Properties).toMatchObject({
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: arnOf(stack.keys.realtime) },
    });
  });
});

describe('the stack outputs', () => {
  it.each([
    'DocumentsBucketName',
    'EventBusName',
    'IntakeQueueUrl',
    'IntakeDeadLetterQueueUrl',
    'JobsQueueUrl',
    'JobsDeadLetterQueueUrl',
    'DatabaseEndpoint',
    'DatabaseSecretArn',
    'ConnectionsTableName',
  ])('include %s', (name) => {
    // Assess
    template.hasOutput(name, { Value: Match.anyValue(), Description: Match.anyValue() });
  });
});
