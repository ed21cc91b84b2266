import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { actionsOf, overlyBroadStatements, resourcesOf, roleStatements } from './support/iam';
import { synthUntxt } from './support/synth';
import { logicalIdOf, resourceById, type CfnResourceJson } from './support/template';

// Prepare: one synthesis with the defaults (On-Demand g6e.xlarge, at most 2 instances) for the file.
const { app, stack, template } = synthUntxt({ context: { 'untxt:modelManifestSha256': '' } });
const worker = stack.gpuWorker;
const resourcesOfType = (type: string): CfnResourceJson[] => Object.values(template.findResources(type)) as CfnResourceJson[];
const idOf = (construct: Parameters<typeof logicalIdOf>[1]) => logicalIdOf(stack, construct);
const groupIdOf = (construct: Parameters<typeof logicalIdOf>[1]) => ({ 'Fn::GetAtt': [idOf(construct), 'GroupId'] });
const containerOf = () => {
  const definitions = resourceById(template, idOf(worker.taskDefinition)).Properties.ContainerDefinitions as Record<string, unknown>[];
  expect(definitions).toHaveLength(1);
  return definitions[0]!;
};
const launchTemplateData = () => resourcesOfType('AWS::EC2::LaunchTemplate')[0]!.Properties.LaunchTemplateData as Record<string, unknown>;

describe('the GPU worker task definition', () => {
  it('asks for one GPU for its one container', () => {
    // Assess
    expect(containerOf().ResourceRequirements).toEqual([{ Type: 'GPU', Value: '1' }]);
  });

  it('gives the container at least 120 seconds to stop, an init process and shared memory for vLLM', () => {
    // Act
    const container = containerOf();

    // Assess
    expect(container.StopTimeout).toBeGreaterThanOrEqual(120);
    expect(container.LinuxParameters).toMatchObject({ InitProcessEnabled: true, SharedMemorySize: 8192 });
  });

  it('reserves memory from the instance type, leaving the host its share', () => {
    // Assess (g6e.xlarge: 32 GiB)
    expect(containerOf().MemoryReservation).toBe(Math.floor(32 * 1024 * 0.85));
  });

  it('runs in awsvpc mode and mounts the instance\'s model folder at MODEL_DIR', () => {
    // Act
    const taskDefinition = resourceById(template, idOf(worker.taskDefinition)).Properties;

    // Assess
    expect(taskDefinition.NetworkMode).toBe('awsvpc');
    expect(taskDefinition.Volumes).toEqual([{ Name: 'models', Host: { SourcePath: '/opt/untxt/models' } }]);
    expect(containerOf().MountPoints).toEqual([{ SourceVolume: 'models', ContainerPath: '/models', ReadOnly: false }]);
  });

  it('sets the container environment of the worker and entrypoint contract', () => {
    // Act
    const environment = Object.fromEntries(
      (containerOf().Environment as { Name: string; Value: unknown }[]).map((e) => [e.Name, e.Value]),
    );

    // Assess
    expect(Object.keys(environment).sort()).toEqual(
      [
        'AWS_REGION', 'DB_HOST', 'DB_NAME', 'DB_PORT', 'DB_USER', 'DOCUMENTS_BUCKET', 'EVENT_BUS_NAME', 'JOBS_QUEUE_URL', 'MAX_JOBS', 'MAX_PAGES',
        'MAX_PAGES_IN_FLIGHT', 'MODEL_DIR', 'MODEL_ID', 'MODEL_MANIFEST_SHA256', 'MODEL_S3_URI', 'OCR_ENGINE', 'OCR_FALLBACK',
      ].sort(),
    );
    expect(environment).toMatchObject({
      DB_USER: 'untxt_worker',
      OCR_ENGINE: 'qwen-vllm',
      MODEL_ID: 'Qwen/Qwen3-VL-8B-Instruct',
      MODEL_DIR: '/models',
      MAX_PAGES_IN_FLIGHT: '32',
      MAX_JOBS: '8',
    });
    expect(JSON.stringify(environment.MODEL_S3_URI)).toContain(idOf(stack.models.bucket));
  });

  it('logs to a KMS-encrypted log group with a retention period', () => {
    // Act
    const options = (containerOf().LogConfiguration as { LogDriver: string; Options: Record<string, unknown> });
    const logGroup = resourceById(template, idOf(worker.logGroup)).Properties;

    // Assess
    expect(options.LogDriver).toBe('awslogs');
    expect(options.Options['awslogs-group']).toEqual({ Ref: idOf(worker.logGroup) });
    expect(logGroup).toMatchObject({ KmsKeyId: { 'Fn::GetAtt': [idOf(stack.keys.logs), 'Arn'] }, RetentionInDays: 365 });
  });
});

describe('the GPU worker alarms', () => {
  const filterOf = (metricName: string) => {
    const filters = resourcesOfType('AWS::Logs::MetricFilter').filter(
      (f) => (f.Properties.MetricTransformations as { MetricName: string }[])[0]!.MetricName === metricName,
    );
    expect(filters).toHaveLength(1);
    return filters[0]!.Properties;
  };
  const alarmOn = (metricName: string) => {
    const alarms = resourcesOfType('AWS::CloudWatch::Alarm').filter((a) => a.Properties.MetricName === metricName);
    expect(alarms).toHaveLength(1);
    return alarms[0]!.Properties;
  };
  const topic = { Ref: idOf(stack.monitoring.topic) };

  it.each([
    ['PagesReadByFallback', '{ $.message = "Page read by a fallback" }'],
    ['ModelServerFailures', '{ $.message = "Model server failed a page" }'],
  ])('counts %s from the worker\'s JSON log lines by their message', (metricName, pattern) => {
    // Act
    const filter = filterOf(metricName);

    // Assess
    expect(filter).toMatchObject({
      LogGroupName: { Ref: idOf(worker.logGroup) },
      FilterPattern: pattern,
      MetricTransformations: [{ MetricName: metricName, MetricNamespace: 'untxt/Untxt', MetricValue: '1' }],
    });
  });

  it.each([
    ['more than 20 pages read by a fallback in 15 minutes', 'PagesReadByFallback', 900, 21],
    ['5 or more pages failed by the model server in 5 minutes', 'ModelServerFailures', 300, 5],
  ])('alarms on %s, through the alarm topic', (_, metricName, period, atLeast) => {
    // Act
    const alarm = alarmOn(metricName);

    // Assess
    expect(alarm).toMatchObject({
      Namespace: 'untxt/Untxt',
      Statistic: 'Sum',
      Period: period,
      EvaluationPeriods: 1,
      Threshold: atLeast,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [topic],
      OKActions: [topic],
    });
  });
});

describe('the GPU worker image asset', () => {
  it('holds only what the image build needs, never node_modules', () => {
    // Act
    const assembly = app.synth();
    const assetDirs = readdirSync(assembly.directory).filter((name) => name.startsWith('asset.'));
    const imageDir = assetDirs.map((d) => path.join(assembly.directory, d)).find((d) => readdirSync(d).includes('inference-container'));

    // Assess
    expect(imageDir).toBeDefined();
    expect(readdirSync(imageDir!).sort()).toEqual(['inference-container', 'lambdas', 'package-lock.json', 'package.json', 'src', 'tsconfig.json']);
    expect(readdirSync(path.join(imageDir!, 'inference-container'))).toContain('Dockerfile');
  });
});

describe('the GPU worker task role', () => {
  const statements = roleStatements(template, stack, worker.taskDefinition.taskRole);

  it('allows no wildcard action and no action on every resource', () => {
    // Assess
    expect(statements.flatMap(actionsOf).filter((a) => a.includes('*'))).toEqual([]);
    expect(overlyBroadStatements(statements)).toEqual([]);
  });

  it('may do exactly what the worker does', () => {
    // Act
    const actions = [...new Set(statements.flatMap(actionsOf))].sort();

    // Assess
    expect(actions).toEqual(
      [
        'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'kms:Decrypt', 'kms:GenerateDataKey',
        's3:GetObject', 's3:GetObjectAttributes', 's3:ListBucket', 's3:PutObject', 's3:ListBucketVersions', 's3:DeleteObjectVersion',
        'events:PutEvents', 'rds-db:connect', 'ecs:UpdateTaskProtection',
      ].sort(),
    );
  });

  it('receives only from the jobs queue and protects only tasks of its own cluster', () => {
    // Act
    const resourcesFor = (action: string) => statements.filter((st) => actionsOf(st).includes(action)).flatMap(resourcesOf);

    // Assess
    expect(resourcesFor('sqs:ReceiveMessage')).toEqual([{ 'Fn::GetAtt': [idOf(stack.queues.jobs), 'Arn'] }]);
    expect(JSON.stringify(resourcesFor('ecs:UpdateTaskProtection'))).toMatch(new RegExp(`:task/",\\{"Ref":"${idOf(worker.cluster)}"\\},"/\\*"`));
  });

  it('writes and erases under results/ only, and reads uploads/, results/ and the weights', () => {
    // Act
    const resourcesFor = (action: string) => JSON.stringify(statements.filter((st) => actionsOf(st).includes(action)).flatMap(resourcesOf));

    // Assess
    expect(resourcesFor('s3:PutObject')).toContain('/results/*');
    expect(resourcesFor('s3:PutObject')).not.toContain('/uploads/*');
    expect(resourcesFor('s3:DeleteObjectVersion')).not.toContain('/uploads/*');
    expect(resourcesFor('s3:GetObject')).toContain('/uploads/*');
    expect(resourcesFor('s3:GetObject')).toContain(idOf(stack.models.bucket));
  });
});

describe('the GPU worker service', () => {
  it('starts at zero on the GPU capacity provider, in the isolated subnets without a public IP', () => {
    // Assess
    template.hasResourceProperties('AWS::ECS::Service', {
      DesiredCount: 0,
      DeploymentConfiguration: Match.objectLike({
        MinimumHealthyPercent: 0,
        MaximumPercent: 100,
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      }),
      CapacityProviderStrategy: [{ CapacityProvider: { Ref: Object.keys(template.findResources('AWS::ECS::CapacityProvider'))[0] }, Weight: 1 }],
      NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'DISABLED', SecurityGroups: [groupIdOf(worker.taskSecurityGroup)] }) },
    });
  });

  it('is created after its capacity provider is associated with the cluster', () => {
    // Act
    const [associationId] = Object.keys(template.findResources('AWS::ECS::ClusterCapacityProviderAssociations'));
    const service = resourceById(template, idOf(worker.service));

    // Assess
    expect(service.DependsOn).toContain(associationId);
  });

  it('is in a cluster with Container Insights', () => {
    // Assess
    template.hasResourceProperties('AWS::ECS::Cluster', { ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }] });
  });
});

describe('the GPU capacity', () => {
  it('is an Auto Scaling group from zero to the configured maximum, protected from scale-in, without capacity rebalancing', () => {
    // Assess
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      MinSize: '0',
      MaxSize: '2',
      NewInstancesProtectedFromScaleIn: true,
      CapacityRebalance: false,
      DesiredCapacity: Match.absent(),
    });
  });

  it('is a capacity provider with managed scaling and managed termination protection', () => {
    // Assess
    template.hasResourceProperties('AWS::ECS::CapacityProvider', {
      AutoScalingGroupProvider: Match.objectLike({
        ManagedScaling: Match.objectLike({ Status: 'ENABLED', TargetCapacity: 100 }),
        ManagedTerminationProtection: 'ENABLED',
      }),
    });
  });

  it('launches the ECS GPU AMI from its public SSM parameter, resolved at deploy time', () => {
    // Act
    const parameters = template.toJSON().Parameters as Record<string, { Type: string; Default: string }>;

    // Assess
    expect(Object.values(parameters)).toContainEqual({
      Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>',
      Default: '/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id',
    });
  });

  it('requires IMDSv2 with one hop, so containers cannot reach the instance credentials', () => {
    // Assess
    expect(launchTemplateData().MetadataOptions).toMatchObject({ HttpTokens: 'required', HttpPutResponseHopLimit: 1 });
    expect(JSON.stringify(launchTemplateData().UserData)).toContain('ECS_AWSVPC_BLOCK_IMDS=true');
  });

  it('has an encrypted gp3 root volume with the GPU volumes key, large enough for the image and the weights', () => {
    // Act
    const [device] = launchTemplateData().BlockDeviceMappings as { Ebs: Record<string, unknown> }[];

    // Assess
    expect(device!.Ebs).toMatchObject({ VolumeType: 'gp3', Encrypted: true, KmsKeyId: { 'Fn::GetAtt': [idOf(stack.keys.gpuVolumes), 'Arn'] } });
    expect(device!.Ebs.KmsKeyId).not.toEqual({ 'Fn::GetAtt': [idOf(stack.keys.data), 'Arn'] });
    expect(device!.Ebs.VolumeSize).toBeGreaterThanOrEqual(100);
  });

  it('provisions the root volume 600 MiB/s and 6,000 IOPS, so a cold start is not held at gp3\'s baseline', () => {
    // Act
    const [device] = launchTemplateData().BlockDeviceMappings as { Ebs: Record<string, unknown> }[];

    // Assess
    expect(device!.Ebs).toMatchObject({ Throughput: 600, Iops: 6000, DeleteOnTermination: true });
  });

  it('configures the ECS agent for GPUs and a 120-second stop timeout, without Spot draining when On-Demand', () => {
    // Act
    const userData = JSON.stringify(launchTemplateData().UserData);

    // Assess
    expect(userData).toContain('ECS_ENABLE_GPU_SUPPORT=true');
    expect(userData).toContain('ECS_CONTAINER_STOP_TIMEOUT=120s');
    expect(userData).not.toContain('ECS_ENABLE_SPOT_INSTANCE_DRAINING');
    expect(launchTemplateData().InstanceMarketOptions).toBeUndefined();
  });

  it('gives the instances a role for the ECS agent only, with no AWS managed policy', () => {
    // Act
    const role = resourceById(template, idOf(worker.capacity.instanceRole)).Properties;
    const actions = roleStatements(template, stack, worker.capacity.instanceRole).flatMap(actionsOf);

    // Assess
    expect(role.ManagedPolicyArns).toBeUndefined();
    expect(actions.filter((a) => !a.startsWith('ecs:') && !a.startsWith('ecr:GetAuthorizationToken') && !a.startsWith('logs:'))).toEqual([]);
  });
});

describe('the GPU worker network', () => {
  const endpointSg = groupIdOf(stack.network.endpointSecurityGroup);
  const groups = [worker.taskSecurityGroup, worker.capacity.instanceSecurityGroup];

  it.each([
    ['task', 0],
    ['instance', 1],
  ])('lets the %s security group reach the interface endpoints, and the endpoints admit it', (_name, index) => {
    // Act
    const group = groupIdOf(groups[index]!);
    const egress = resourcesOfType('AWS::EC2::SecurityGroupEgress').filter(
      (r) => JSON.stringify(r.Properties.GroupId) === JSON.stringify(group) && JSON.stringify(r.Properties.DestinationSecurityGroupId) === JSON.stringify(endpointSg),
    );
    const ingress = resourcesOfType('AWS::EC2::SecurityGroupIngress').filter(
      (r) => JSON.stringify(r.Properties.GroupId) === JSON.stringify(endpointSg) && JSON.stringify(r.Properties.SourceSecurityGroupId) === JSON.stringify(group),
    );

    // Assess
    expect(egress).toHaveLength(1);
    expect(ingress).toHaveLength(1);
    expect(egress[0]!.Properties).toMatchObject({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443 });
  });

  it('admits the worker tasks, and not the instances, to PostgreSQL', () => {
    // Act
    const dbSg = groupIdOf(stack.database.securityGroup);
    const sources = resourcesOfType('AWS::EC2::SecurityGroupIngress')
      .filter((r) => JSON.stringify(r.Properties.GroupId) === JSON.stringify(dbSg))
      .map((r) => JSON.stringify(r.Properties.SourceSecurityGroupId));

    // Assess
    expect(sources).toContain(JSON.stringify(groupIdOf(worker.taskSecurityGroup)));
    expect(sources).not.toContain(JSON.stringify(groupIdOf(worker.capacity.instanceSecurityGroup)));
  });

  it('lets the S3 gateway endpoint read the models bucket, and not write it', () => {
    // Act
    const policy = resourceById(template, idOf(stack.network.s3Endpoint)).Properties.PolicyDocument as { Statement: { Action: unknown; Resource: unknown }[] };
    const models = policy.Statement.filter((st) => JSON.stringify(st.Resource).includes(idOf(stack.models.bucket)));

    // Assess
    expect(models).toHaveLength(1);
    expect(JSON.stringify(models[0]!.Action)).toContain('s3:GetObject');
    expect(JSON.stringify(models[0]!.Action)).not.toMatch(/s3:(Put|Delete)/);
    expect(JSON.stringify(policy)).toContain('-starport-layer-bucket/*');
  });

  it('adds no NAT or internet gateway', () => {
    // Assess
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
  });
});

describe('the models bucket', () => {
  it('is KMS-encrypted, versioned, private, access-logged and retained', () => {
    // Act
    const bucket = resourceById(template, idOf(stack.models.bucket));

    // Assess
    expect(bucket.Properties).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          { BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [idOf(stack.models.key), 'Arn'] } } },
        ],
      },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LoggingConfiguration: { DestinationBucketName: { Ref: idOf(stack.storage.accessLogBucket) }, LogFilePrefix: 'models/' },
    });
    expect(bucket.DeletionPolicy).toBe('Retain');
  });
});

describe('a stack whose weights are not staged yet', () => {
  it('synthesizes with a warning that the worker cannot start until they are', () => {
    // Act
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('modelManifestSha256 is not set'));

    // Assess
    expect(warnings).toHaveLength(1);
    expect(containerOf().Environment).toContainEqual({ Name: 'MODEL_MANIFEST_SHA256', Value: '' });
  });
});
