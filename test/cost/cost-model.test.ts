import { GPU_INSTANCE_TYPES, type GpuInstanceType } from '../../lib/gpu-instances';
import { COST_ASSUMPTIONS, type CostAssumptions, type Sourced } from '../../scripts/cost-assumptions';
import {
  endpointServiceName,
  gpuOptionCosts,
  idleItems,
  invocationsPerMonth,
  monthlyTotal,
  parsePriceOverride,
  throughput,
  withPriceOverrides,
  type CfnResource,
  type CfnTemplate,
} from '../../scripts/cost-model';

const fixed = (value: number): Sourced => ({ value, source: 'test', checked: 'test' });
const HOURS = COST_ASSUMPTIONS.hoursPerMonth.value;

const region = { Ref: 'AWS::Region' };
const interfaceEndpoint = (service: string, subnets: number): CfnResource => ({
  Type: 'AWS::EC2::VPCEndpoint',
  Properties: {
    VpcEndpointType: 'Interface',
    ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', region, `.${service}`]] },
    SubnetIds: Array.from({ length: subnets }, (_, i) => ({ Ref: `Subnet${i}` })),
  },
});
const launchTemplate = (instanceType: string, spot = false): CfnResource => ({
  Type: 'AWS::EC2::LaunchTemplate',
  Properties: { LaunchTemplateData: { InstanceType: instanceType, ...(spot ? { InstanceMarketOptions: { MarketType: 'spot' } } : {}) } },
});
const group = (minSize: number | string): CfnResource => ({
  Type: 'AWS::AutoScaling::AutoScalingGroup',
  Properties: { MinSize: minSize, MaxSize: '2', LaunchTemplate: { LaunchTemplateId: { Ref: 'Lt' }, Version: { 'Fn::GetAtt': ['Lt', 'LatestVersionNumber'] } } },
});
const template = (resources: Record<string, CfnResource>): CfnTemplate => ({ Resources: resources });

/**
 * A toy model and GPU whose arithmetic can be followed by hand: a 1 B-parameter language model
 * with no attention cost and no vision encoder, 4 bytes of KV cache per token, on a GPU with
 * 100 GB/s and 100 TFLOPS at full efficiency.
 */
function toyAssumptions(): CostAssumptions {
  return {
    ...COST_ASSUMPTIONS,
    instances: { 'x1.test': { onDemandPerHour: fixed(2), spotDiscount: fixed(0.75) } },
    gpus: { 'Test GPU': { memoryBandwidthGBps: fixed(100), denseBf16Tflops: fixed(100), denseFp8Tflops: fixed(200) } },
    model: {
      id: 'test/toy',
      languageParamsBillions: fixed(1),
      languageLayers: fixed(1),
      languageHiddenSize: fixed(0),
      kvHeads: fixed(1),
      headDim: fixed(1),
      visionParamsBillions: fixed(0),
      visionLayers: fixed(0),
      visionHiddenSize: fixed(0),
      patchesPerVisualToken: fixed(4),
    },
    serving: { gpuMemoryUtilization: fixed(0.5), runtimeReserveGiB: fixed(0), decodeEfficiency: fixed(1), prefillEfficiency: fixed(1) },
    workload: { ...COST_ASSUMPTIONS.workload, visualTokensPerPage: fixed(1000), outputTokensPerPage: fixed(100), pagesInFlight: fixed(4), utilisation: fixed(0.5) },
  };
}
const TOY_TYPE: GpuInstanceType = { instanceType: 'x1.test', gpu: 'Test GPU', gpuCount: 1, gpuMemoryGiB: 24, fp8: true, vcpus: 4, memoryGiB: 16 };
const byType = (name: string): GpuInstanceType => {
  const found = GPU_INSTANCE_TYPES.find((t) => t.instanceType === name);
  if (!found) throw new Error(name);
  return found;
};

describe('the idle cost read from a template', () => {
  it('bills each interface endpoint once per subnet it sits in, and gateway endpoints not at all', () => {
    // Prepare
    const t = template({
      Sqs: interfaceEndpoint('sqs', 2),
      Logs: interfaceEndpoint('logs', 2),
      S3: { Type: 'AWS::EC2::VPCEndpoint', Properties: { VpcEndpointType: 'Gateway', ServiceName: 'com.amazonaws.us-east-1.s3' } },
    });

    // Act
    const items = idleItems(t, COST_ASSUMPTIONS);

    // Assess
    expect(items.map((i) => [i.what, i.quantity])).toEqual([
      ['Interface endpoint sqs (2 AZ)', 2],
      ['Interface endpoint logs (2 AZ)', 2],
    ]);
    expect(monthlyTotal(items)).toBeCloseTo(4 * HOURS * 0.01, 6);
  });

  it('costs nothing for an Auto Scaling group whose minimum is 0', () => {
    // Prepare
    const t = template({ Lt: launchTemplate('g6e.xlarge'), Gpu: group('0') });

    // Act
    const items = idleItems(t, COST_ASSUMPTIONS);

    // Assess
    expect(items).toHaveLength(1);
    expect(items[0].what).toContain('minimum 0');
    expect(monthlyTotal(items)).toBe(0);
  });

  it('bills an Auto Scaling group minimum at its launch template instance price, discounted on Spot', () => {
    // Prepare
    const onDemand = template({ Lt: launchTemplate('g6e.xlarge'), Gpu: group(1) });
    const spot = template({ Lt: launchTemplate('g6e.xlarge', true), Gpu: group(1) });
    const price = COST_ASSUMPTIONS.instances['g6e.xlarge'];

    // Act
    const onDemandMonthly = monthlyTotal(idleItems(onDemand, COST_ASSUMPTIONS));
    const spotMonthly = monthlyTotal(idleItems(spot, COST_ASSUMPTIONS));

    // Assess
    expect(onDemandMonthly).toBeCloseTo(price.onDemandPerHour.value * HOURS, 6);
    expect(spotMonthly).toBeCloseTo(price.onDemandPerHour.value * (1 - price.spotDiscount.value) * HOURS, 6);
  });

  it('refuses to guess the price of an instance type kept running that the assumptions do not list', () => {
    // Prepare
    const t = template({ Lt: launchTemplate('p5.48xlarge'), Gpu: group(1) });

    // Act
    const act = (): unknown => idleItems(t, COST_ASSUMPTIONS);

    // Assess
    expect(act).toThrow(/p5\.48xlarge/);
  });

  it('charges Aurora Serverless v2 its minimum ACUs per serverless instance, and only storage at 0 ACU', () => {
    // Prepare
    const cluster = (min: number): CfnResource => ({ Type: 'AWS::RDS::DBCluster', Properties: { ServerlessV2ScalingConfiguration: { MinCapacity: min, MaxCapacity: 4 } } });
    const writer: CfnResource = { Type: 'AWS::RDS::DBInstance', Properties: { DBClusterIdentifier: { Ref: 'Db' }, DBInstanceClass: 'db.serverless' } };
    const storage = COST_ASSUMPTIONS.idleUsage.auroraStorageGb.value * COST_ASSUMPTIONS.idlePrices.auroraStoragePerGbMonth.value;

    // Act
    const paused = monthlyTotal(idleItems(template({ Db: cluster(0), Writer: writer }), COST_ASSUMPTIONS));
    const halfAcu = monthlyTotal(idleItems(template({ Db: cluster(0.5), Writer: writer }), COST_ASSUMPTIONS));

    // Assess
    expect(paused).toBeCloseTo(storage, 6);
    expect(halfAcu).toBeCloseTo(0.5 * 0.12 * HOURS + storage, 6);
  });

  it('counts keys, secrets, the web ACL with each of its rules, and alarms at their monthly prices', () => {
    // Prepare
    const t = template({
      K1: { Type: 'AWS::KMS::Key' },
      K2: { Type: 'AWS::KMS::Key' },
      S1: { Type: 'AWS::SecretsManager::Secret' },
      Acl: { Type: 'AWS::WAFv2::WebACL', Properties: { Rules: [{ Name: 'a' }, { Name: 'b' }, { Name: 'c' }] } },
      A1: { Type: 'AWS::CloudWatch::Alarm' },
      A2: { Type: 'AWS::CloudWatch::Alarm' },
    });

    // Act
    const monthly = monthlyTotal(idleItems(t, COST_ASSUMPTIONS));

    // Assess — 2 keys × $1 + 1 secret × $0.40 + ACL $5 + 3 rules × $1 + 2 alarms × $0.10
    expect(monthly).toBeCloseTo(2 + 0.4 + 5 + 3 + 0.2, 6);
  });

  it('prices a function run every minute by its invocations and memory', () => {
    // Prepare
    const t = template({
      Fn: { Type: 'AWS::Lambda::Function', Properties: { MemorySize: 1024 } },
      Tick: { Type: 'AWS::Events::Rule', Properties: { ScheduleExpression: 'rate(1 minute)', Targets: [{ Arn: { 'Fn::GetAtt': ['Fn', 'Arn'] }, Id: 'T' }] } },
    });
    const r = COST_ASSUMPTIONS.requestPrices;
    const perInvocation = r.lambdaPerMillionRequests.value / 1e6 + COST_ASSUMPTIONS.idleUsage.scheduledFunctionSeconds.value * 1 * r.lambdaArmPerGbSecond.value;

    // Act
    const items = idleItems(t, COST_ASSUMPTIONS);

    // Assess
    expect(items.map((i) => i.quantity)).toEqual([HOURS * 60]);
    expect(monthlyTotal(items)).toBeCloseTo(HOURS * 60 * perInvocation, 9);
  });

  it('prices an EventBridge Scheduler schedule like a rule, and a disabled one not at all', () => {
    // Prepare
    const fn: CfnResource = { Type: 'AWS::Lambda::Function', Properties: { MemorySize: 128 } };
    const schedule = (state: string): CfnResource => ({
      Type: 'AWS::Scheduler::Schedule',
      Properties: { ScheduleExpression: 'rate(5 minutes)', State: state, FlexibleTimeWindow: { Mode: 'OFF' }, Target: { Arn: { 'Fn::GetAtt': ['Fn', 'Arn'] }, RoleArn: 'r' } },
    });

    // Act
    const enabled = idleItems(template({ Fn: fn, S: schedule('ENABLED') }), COST_ASSUMPTIONS);
    const disabled = idleItems(template({ Fn: fn, S: schedule('DISABLED') }), COST_ASSUMPTIONS);

    // Assess
    expect(enabled.map((i) => i.quantity)).toEqual([(HOURS * 60) / 5]);
    expect(disabled).toEqual([]);
  });

  it('adds the image and weights storage once the template has a task definition that needs a GPU', () => {
    // Prepare
    const t = template({
      Task: { Type: 'AWS::ECS::TaskDefinition', Properties: { ContainerDefinitions: [{ Name: 'worker', ResourceRequirements: [{ Type: 'GPU', Value: '1' }] }] } },
    });

    // Act
    const names = idleItems(t, COST_ASSUMPTIONS).map((i) => i.what);

    // Assess
    expect(names).toEqual(['Worker container image in ECR', 'Model weights in S3']);
  });

  it('lists what bills only by use at $0: on-demand tables, APIs and a cluster with Container Insights', () => {
    // Prepare
    const cluster = (value: string): CfnResource => ({ Type: 'AWS::ECS::Cluster', Properties: { ClusterSettings: [{ Name: 'containerInsights', Value: value }] } });
    const t = template({
      Table: { Type: 'AWS::DynamoDB::Table', Properties: { BillingMode: 'PAY_PER_REQUEST' } },
      Api: { Type: 'AWS::ApiGateway::RestApi' },
      Ws: { Type: 'AWS::ApiGatewayV2::Api' },
      Watched: cluster('enabled'),
      Quiet: cluster('disabled'),
    });

    // Act
    const items = idleItems(t, COST_ASSUMPTIONS);

    // Assess
    expect(items.map((i) => [i.what, i.quantity, i.monthly])).toEqual([
      ['DynamoDB tables, on-demand (pay per request)', 1, 0],
      ['API Gateway APIs (pay per request)', 2, 0],
      ['ECS Container Insights (metrics only while tasks run)', 1, 0],
    ]);
  });

  it('names an endpoint service from the CDK join around the region and from a plain string', () => {
    // Prepare
    const joined = { 'Fn::Join': ['', ['com.amazonaws.', region, '.ecr.dkr']] };

    // Act
    const names = [endpointServiceName(joined), endpointServiceName('com.amazonaws.eu-west-1.ecs-agent')];

    // Assess
    expect(names).toEqual(['ecr.dkr', 'ecs-agent']);
  });

  it('reads rate schedules in minutes, hours and days, and leaves cron schedules unpriced', () => {
    // Act
    const counts = ['rate(1 minute)', 'rate(5 minutes)', 'rate(2 hours)', 'rate(1 day)', 'cron(0 12 * * ? *)'].map((e) => invocationsPerMonth(e, 720));

    // Assess
    expect(counts).toEqual([43_200, 8_640, 360, 30, undefined]);
  });
});

describe('the cost per million pages', () => {
  it('adds a page\'s prefill time to its share of the batch\'s decode time, and scales pages an hour by utilisation', () => {
    // Prepare
    const a = toyAssumptions();

    // Act
    const t = throughput(TOY_TYPE, a, 'BF16');

    // Assess — decode: 4 pages ÷ ((2 GB of weights + 4 × 1,050 tokens × 4 B) ÷ 100 GB/s) ≈ 200 tokens/s;
    // prefill: 2 × 1 B × 1,000 tokens ÷ 100 TFLOPS = 0.02 s; a page 0.02 + 100 ÷ 200 = 0.52 s.
    expect(t.pagesAtOnce).toBe(4);
    expect(t.decodeTokensPerSecond).toBeCloseTo(200, 1);
    expect(t.prefillSecondsPerPage).toBeCloseTo(0.02, 9);
    expect(t.gpuSecondsPerPage).toBeCloseTo(0.52, 4);
    expect(t.pagesPerHour).toBeCloseTo((3600 / 0.52) * 0.5, 0);
  });

  it('halves the weights read per step and doubles the prefill peak with FP8 weights on a GPU that has FP8', () => {
    // Prepare
    const a = toyAssumptions();

    // Act
    const t = throughput(TOY_TYPE, a, 'FP8');

    // Assess — 4 ÷ (1 GB ÷ 100 GB/s) ≈ 400 tokens/s; 2 TFLOP ÷ 200 TFLOPS = 0.01 s
    expect(t.decodeTokensPerSecond).toBeCloseTo(400, 0);
    expect(t.prefillSecondsPerPage).toBeCloseTo(0.01, 9);
  });

  it('decodes fewer pages at once than are in flight where the KV cache runs out', () => {
    // Prepare — BF16 Qwen3-VL-8B on a 24 GiB GPU against a 48 GiB one
    const a = COST_ASSUMPTIONS;

    // Act
    const l4 = throughput(byType('g6.xlarge'), a, 'BF16');
    const l40s = throughput(byType('g6e.xlarge'), a, 'BF16');

    // Assess
    expect(l4.pagesAtOnce).toBeLessThan(a.workload.pagesInFlight.value);
    expect(l40s.pagesAtOnce).toBe(a.workload.pagesInFlight.value);
  });

  it('runs FP8 weights at BF16 prefill speed on a GPU without FP8, yet decodes faster for the memory saved', () => {
    // Prepare
    const a10g = byType('g5.xlarge');

    // Act
    const bf16 = throughput(a10g, COST_ASSUMPTIONS, 'BF16');
    const fp8 = throughput(a10g, COST_ASSUMPTIONS, 'FP8');

    // Assess
    expect(fp8.prefillSecondsPerPage).toBeCloseTo(bf16.prefillSecondsPerPage, 9);
    expect(fp8.pagesAtOnce).toBeGreaterThan(bf16.pagesAtOnce);
    expect(fp8.decodeTokensPerSecond).toBeGreaterThan(bf16.decodeTokensPerSecond);
  });

  it('refuses a model whose weights leave no room for one page', () => {
    // Prepare
    const a: CostAssumptions = { ...COST_ASSUMPTIONS, model: { ...COST_ASSUMPTIONS.model, id: 'test/huge', languageParamsBillions: fixed(32) } };

    // Act
    const act = (): unknown => throughput(byType('g6.xlarge'), a, 'BF16');

    // Assess
    expect(act).toThrow(/no room/);
  });

  it('prices the instance hours a million pages take, On-Demand and Spot', () => {
    // Prepare
    const a = toyAssumptions();
    const perHour = throughput(TOY_TYPE, a, 'BF16').pagesPerHour;

    // Act
    const [onDemand, spot] = gpuOptionCosts([TOY_TYPE], a, 'BF16');

    // Assess — at $2 an hour On-Demand, and 75% off on Spot
    expect([onDemand.capacity, spot.capacity]).toEqual(['On-Demand', 'Spot']);
    expect(onDemand.gpuPer1M).toBeCloseTo((1e6 / perHour) * 2, 6);
    expect(spot.gpuPer1M).toBeCloseTo((1e6 / perHour) * 0.5, 6);
    expect(onDemand.otherPer1M).toBeCloseTo(spot.otherPer1M, 9);
    expect(onDemand.textractRatio).toBeCloseTo(onDemand.totalPer1M / 1500, 9);
  });

  it('gives every GPU option in the catalogue an On-Demand and a Spot figure', () => {
    // Act
    const rows = gpuOptionCosts(GPU_INSTANCE_TYPES, COST_ASSUMPTIONS);

    // Assess
    for (const t of GPU_INSTANCE_TYPES) {
      const capacities = rows.filter((r) => r.instanceType === t.instanceType).map((r) => r.capacity);
      expect({ type: t.instanceType, capacities }).toEqual({ type: t.instanceType, capacities: ['On-Demand', 'Spot'] });
    }
    for (const r of rows) {
      expect(Number.isFinite(r.totalPer1M) && r.totalPer1M > 0).toBe(true);
      expect(r.pagesPerHour).toBeGreaterThan(0);
    }
  });

  it('costs less on Spot than On-Demand for every option', () => {
    // Act
    const rows = gpuOptionCosts(GPU_INSTANCE_TYPES, COST_ASSUMPTIONS);

    // Assess
    for (const t of GPU_INSTANCE_TYPES) {
      const [od, spot] = rows.filter((r) => r.instanceType === t.instanceType);
      expect(spot.totalPer1M).toBeLessThan(od.totalPer1M);
    }
  });
});

describe('prices given on the command line', () => {
  it('replace the On-Demand price and turn a Spot price into its discount', () => {
    // Prepare
    const [type, override] = parsePriceOverride('g6e.xlarge=2/0.5');

    // Act
    const a = withPriceOverrides(COST_ASSUMPTIONS, new Map([[type, override]]));

    // Assess
    expect(a.instances['g6e.xlarge'].onDemandPerHour.value).toBe(2);
    expect(a.instances['g6e.xlarge'].spotDiscount.value).toBeCloseTo(0.75, 9);
    expect(a.instances['g6e.xlarge'].onDemandPerHour.source).toBe('command line (--price)');
    expect(a.instances['g6.xlarge']).toBe(COST_ASSUMPTIONS.instances['g6.xlarge']);
  });

  it('keep the assumed Spot discount when only an On-Demand price is given', () => {
    // Act
    const a = withPriceOverrides(COST_ASSUMPTIONS, new Map([parsePriceOverride('g6.xlarge=1.0')]));

    // Assess
    expect(a.instances['g6.xlarge'].spotDiscount).toBe(COST_ASSUMPTIONS.instances['g6.xlarge'].spotDiscount);
  });

  it('are refused when malformed, for a type that is not a GPU option, or with Spot above On-Demand', () => {
    // Act
    const attempts = [
      () => parsePriceOverride('g6e.xlarge'),
      () => parsePriceOverride('g6e.xlarge=abc'),
      () => parsePriceOverride('g6e.xlarge=1/2'),
      () => withPriceOverrides(COST_ASSUMPTIONS, new Map([parsePriceOverride('p5.48xlarge=55')])),
    ];

    // Assess
    for (const attempt of attempts) expect(attempt).toThrow();
  });
});
