import { Duration, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { GpuPurchaseOption } from './config';
import { GPU_INSTANCE_TYPES, type GpuInstanceType } from './gpu-instances';
import type { Network } from './network';
import { ROOT_VOLUME_IOPS, ROOT_VOLUME_THROUGHPUT_MIBPS } from './gpu-root-volume';

/** Where the instance keeps verified weights between task restarts (mounted into the task as MODEL_DIR). */
export const HOST_MODEL_DIR = '/opt/untxt/models';

/**
 * The image runs as this user (inference-container/Dockerfile, `USER 10001:10001`); the host
 * folder mounted over /models must be writable by it, or the weights cannot be fetched.
 */
export const WORKER_UID = 10001;

/** The worker's stop timeout (DESIGN: release within 90 s, exit 0); the agent's default is 30 s. */
export const CONTAINER_STOP_TIMEOUT = Duration.seconds(120);

export interface GpuCapacityProps {
  readonly network: Network;
  readonly instance: GpuInstanceType;
  readonly maxInstances: number;
  readonly capacity: GpuPurchaseOption;
  /** The root volume (container layers, weights, page temp files) is encrypted with this key; EC2 Auto Scaling must be let use it (lib/keys.ts). */
  readonly volumeKey: kms.IKey;
  /** GiB of weights on disk, to size the root volume. */
  readonly weightsGiB: number;
}

/**
 * The ECS cluster and its GPU capacity: an Auto Scaling group of GPU instances (ECS GPU AMI from
 * its public SSM parameter, resolved at deploy time, no look-up) in the isolated subnets, from
 * zero to the configured maximum, behind a capacity provider with managed scaling (ECS starts an
 * instance when a task needs one) and managed termination protection (an instance running a task
 * is not scaled in under it). Spot, when configured, drains the instance on an interruption
 * notice so the worker gets its SIGTERM path; capacity rebalancing stays off so instances are not
 * replaced early on a mere rebalance recommendation.
 */
export class GpuCapacity extends Construct {
  readonly cluster: ecs.Cluster;
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  readonly capacityProvider: ecs.AsgCapacityProvider;
  /** The instances' group: ECS agent and image pulls, to the VPC endpoints only. */
  readonly instanceSecurityGroup: ec2.ISecurityGroup;
  readonly instanceRole: iam.IRole;

  constructor(scope: Construct, id: string, props: GpuCapacityProps) {
    super(scope, id);
    const { network } = props;
    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: network.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    this.instanceSecurityGroup = network.newEndpointClientGroup(
      this,
      'InstanceSecurityGroup',
      'GPU worker instances: the ECS agent and image pulls, to the VPC endpoints only',
    );

    const role = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'untxt GPU instances: the ECS agent only (tasks use their own role)',
    });
    this.instanceRole = role;
    const launchTemplate = this.newLaunchTemplate(props, role);
    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'Group', {
      vpc: network.vpc,
      vpcSubnets: network.subnets,
      minCapacity: 0,
      maxCapacity: props.maxInstances,
      // No desired capacity in the template: ECS managed scaling owns it, and a deploy must not reset it.
      capacityRebalance: false,
      ...(props.capacity === 'spot'
        ? { mixedInstancesPolicy: spotPolicy(launchTemplate, props.instance) }
        : { launchTemplate }),
    });
    this.capacityProvider = new ecs.AsgCapacityProvider(this, 'CapacityProvider', {
      autoScalingGroup: this.autoScalingGroup,
      enableManagedScaling: true,
      targetCapacityPercent: 100,
      enableManagedTerminationProtection: true,
      enableManagedDraining: true,
      machineImageType: ecs.MachineImageType.AMAZON_LINUX_2,
      // A GPU instance with its image and weights takes minutes; count it as warm only then.
      instanceWarmupPeriod: 300,
    });
    // Also writes ECS_CLUSTER into the user data and gives the role the agent's permissions.
    this.cluster.addAsgCapacityProvider(this.capacityProvider);
    this.grantAgentExtras(role);
    this.acknowledgeFindings(role);
  }

  private newLaunchTemplate(props: GpuCapacityProps, role: iam.Role): ec2.LaunchTemplate {
    const userData = ec2.UserData.forLinux();
    userData.addCommands(...ecsAgentSettings(props.capacity));
    const template = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      machineImage: ecs.EcsOptimizedImage.amazonLinux2023(ecs.AmiHardwareType.GPU),
      instanceType: new ec2.InstanceType(props.instance.instanceType),
      role,
      securityGroup: this.instanceSecurityGroup,
      userData,
      // IMDSv2 only, one hop: the agent on the host reaches it, containers (one hop further) do not.
      requireImdsv2: true,
      httpTokens: ec2.LaunchTemplateHttpTokens.REQUIRED,
      httpPutResponseHopLimit: 1,
      instanceMetadataTags: false,
      associatePublicIpAddress: false,
      detailedMonitoring: true,
      ebsOptimized: true,
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(rootVolumeGiB(props.weightsGiB), {
            volumeType: ec2.EbsDeviceVolumeType.GP3,
            throughput: ROOT_VOLUME_THROUGHPUT_MIBPS,
            iops: ROOT_VOLUME_IOPS,
            encrypted: true,
            kmsKey: props.volumeKey,
            deleteOnTermination: true,
          }),
        },
      ],
    });
    return template;
  }

  /**
   * Beyond what CDK grants for a capacity provider (register, poll, submit state changes on this
   * cluster): setting its own instance to DRAINING, which the agent does on a Spot interruption notice.
   */
  private grantAgentExtras(role: iam.Role): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ecs:UpdateContainerInstancesState'],
        resources: [Stack.of(this).formatArn({ service: 'ecs', resource: 'container-instance', resourceName: `${this.cluster.clusterName}/*` })],
      }),
    );
  }

  private acknowledgeFindings(role: iam.Role): void {
    const clusterId = Stack.of(this).getLogicalId(this.cluster.node.defaultChild as CfnElement);
    Validations.of(role).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'The ECS agent\'s calls that IAM cannot scope to a resource (ecs:DiscoverPollEndpoint, ecr:GetAuthorizationToken) and Poll/StartTelemetrySession conditioned on this cluster; CloudWatch Logs writes on `*` are CDK\'s default for the agent, and the worker\'s logs go through its execution role to its own encrypted group.',
      },
      {
        id: 'AwsSolutions-IAM5[Action::ecs:Submit*]',
        reason: 'The ECS agent reports task, container and attachment state changes (ecs:Submit*) for this cluster only, as in AmazonEC2ContainerServiceforEC2Role.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:container-instance/<${clusterId}>/*]`,
        reason: 'DRAINING its own container instance on a Spot interruption: instances of this cluster only; their ids exist only at run time.',
      },
      {
        id: 'HIPAA.Security-IAMNoInlinePolicy',
        reason: 'The GPU instances\' role: a least-privilege policy for the ECS agent in place of the broader AmazonEC2ContainerServiceforEC2Role, attached to this role alone.',
      },
    );
    Validations.of(this.autoScalingGroup).acknowledge(
      {
        id: 'AwsSolutions-AS3',
        reason:
          'Scaling is driven by the ECS capacity provider from task placement; its activity is in the ECS service events and CloudTrail, and a notification per GPU instance start and stop would only add noise to the alarm topic.',
      },
      {
        id: 'HIPAA.Security-AutoScalingGroupELBHealthCheckRequired',
        reason: 'No load balancer: the worker takes jobs from SQS and serves nothing. ECS replaces a task whose container exits; EC2 health checks replace a failed instance.',
      },
    );
  }
}

/**
 * `/etc/ecs/ecs.config` beyond ECS_CLUSTER (which the cluster adds): GPU support, the longer stop
 * timeout, no instance metadata for awsvpc tasks (they use the task role), a cached image on
 * restart, and Spot draining when on Spot.
 */
export function ecsAgentSettings(capacity: GpuPurchaseOption): string[] {
  const settings = [
    'ECS_ENABLE_GPU_SUPPORT=true',
    `ECS_CONTAINER_STOP_TIMEOUT=${CONTAINER_STOP_TIMEOUT.toSeconds()}s`,
    'ECS_AWSVPC_BLOCK_IMDS=true',
    'ECS_IMAGE_PULL_BEHAVIOR=prefer-cached',
    ...(capacity === 'spot' ? ['ECS_ENABLE_SPOT_INSTANCE_DRAINING=true'] : []),
  ];
  return [
    ...settings.map((s) => `echo ${s} >> /etc/ecs/ecs.config`),
    `mkdir -p ${HOST_MODEL_DIR}`,
    `chown ${WORKER_UID}:${WORKER_UID} ${HOST_MODEL_DIR}`,
    `chmod 700 ${HOST_MODEL_DIR}`,
  ];
}

/**
 * Room for the vLLM image unpacked beside its compressed layers (about 40 GiB), the weights
 * twice (a re-staged model is fetched beside the old one) and page temp files; at least 100 GiB.
 */
export function rootVolumeGiB(weightsGiB: number): number {
  return Math.max(100, Math.ceil((40 + 2 * weightsGiB + 10) / 10) * 10);
}

/**
 * Spot through a mixed instances policy (all Spot, price-capacity optimised), over the configured
 * type and the larger ones with the same GPU, which have at least its memory and vCPUs: more Spot
 * pools, fewer interruptions. The task definition is sized for the configured (smallest) type.
 */
function spotPolicy(launchTemplate: ec2.LaunchTemplate, instance: GpuInstanceType): autoscaling.MixedInstancesPolicy {
  const siblings = GPU_INSTANCE_TYPES.filter(
    (t) => t.gpu === instance.gpu && t.gpuCount === instance.gpuCount && t.memoryGiB >= instance.memoryGiB && t.vcpus >= instance.vcpus,
  );
  return {
    launchTemplate,
    instancesDistribution: {
      onDemandBaseCapacity: 0,
      onDemandPercentageAboveBaseCapacity: 0,
      spotAllocationStrategy: autoscaling.SpotAllocationStrategy.PRICE_CAPACITY_OPTIMIZED,
    },
    launchTemplateOverrides: siblings.map((t) => ({ instanceType: new ec2.InstanceType(t.instanceType) })),
  };
}
