import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { synthUntxt } from './support/synth';
import { logicalIdOf, type CfnResourceJson } from './support/template';

const SHA = 'ab'.repeat(32);

// Prepare: one synthesis on Spot, with a 24 GiB GPU and staged weights, for the whole file.
const { stack, template } = synthUntxt({
  context: {
    'untxt:gpuCapacity': 'spot',
    'untxt:gpuInstanceType': 'g6.xlarge',
    'untxt:gpuMaxInstances': '4',
    'untxt:modelManifestSha256': SHA.toUpperCase(),
  },
});
const resourcesOfType = (type: string): CfnResourceJson[] => Object.values(template.findResources(type)) as CfnResourceJson[];
const launchTemplateData = () => resourcesOfType('AWS::EC2::LaunchTemplate')[0]!.Properties.LaunchTemplateData as Record<string, unknown>;

describe('the GPU capacity on Spot', () => {
  it('turns an interruption notice into draining, so the worker gets its SIGTERM path', () => {
    // Assess
    expect(JSON.stringify(launchTemplateData().UserData)).toContain('ECS_ENABLE_SPOT_INSTANCE_DRAINING=true');
  });

  it('registers the Spot instances with the GPU cluster', () => {
    // Assess
    expect(JSON.stringify(launchTemplateData().UserData)).toContain(`echo ECS_CLUSTER=",{"Ref":"${logicalIdOf(stack, stack.gpuWorker.cluster)}"}`);
  });

  it('asks for Spot only, price-capacity optimised, over the configured type and larger ones with the same GPU', () => {
    // Assess
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      MinSize: '0',
      MaxSize: '4',
      CapacityRebalance: false,
      MixedInstancesPolicy: {
        InstancesDistribution: Match.objectLike({
          OnDemandBaseCapacity: 0,
          OnDemandPercentageAboveBaseCapacity: 0,
          SpotAllocationStrategy: 'price-capacity-optimized',
        }),
        LaunchTemplate: Match.objectLike({ Overrides: [{ InstanceType: 'g6.xlarge' }, { InstanceType: 'g6.2xlarge' }] }),
      },
    });
  });
});

describe('the GPU worker with staged weights', () => {
  it('passes the manifest SHA-256, lower-cased, and warns no more that the weights are missing', () => {
    // Act
    const container = (resourcesOfType('AWS::ECS::TaskDefinition')[0]!.Properties.ContainerDefinitions as { Environment: { Name: string; Value: string }[] }[])[0]!;
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('modelManifestSha256 is not set'));

    // Assess
    expect(container.Environment).toContainEqual({ Name: 'MODEL_MANIFEST_SHA256', Value: SHA });
    expect(warnings).toEqual([]);
  });

  it('warns that an 8B model in BF16 leaves a 24 GiB GPU little room', () => {
    // Act
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('only a few pages fit in flight'));

    // Assess
    expect(warnings).toHaveLength(1);
  });

  it('reserves memory for the smaller instance and shares a quarter of it with vLLM as shared memory', () => {
    // Act
    const [container] = resourcesOfType('AWS::ECS::TaskDefinition')[0]!.Properties.ContainerDefinitions as Record<string, unknown>[];

    // Assess (g6.xlarge: 16 GiB)
    expect(container!.MemoryReservation).toBe(Math.floor(16 * 1024 * 0.85));
    expect(container!.LinuxParameters).toMatchObject({ SharedMemorySize: 4096 });
  });
});
