/**
 * The cost model as pure functions: a CloudFormation template and the stated assumptions
 * (scripts/cost-assumptions.ts) in, itemised idle costs and per-page costs out. No synthesis, no
 * printing, no I/O: scripts/cost.ts does those, and test/cost/ checks this on hand-built templates.
 */
import type { GpuInstanceType } from '../lib/gpu-instances';
import { precisionOf } from '../lib/gpu-sizing';
import type { CostAssumptions, InstancePrice, Sourced } from './cost-assumptions';

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

export interface CfnTemplate {
  readonly Resources?: Record<string, CfnResource>;
}

/** One line of the idle bill: what the template keeps, how many, and what a month of it costs. */
export interface IdleItem {
  readonly what: string;
  readonly quantity: number;
  readonly unit: string;
  readonly unitPrice: number;
  readonly monthly: number;
  readonly source: string;
}

/** A cost that scales with pages, in dollars per million pages. */
export interface PerPageItem {
  readonly what: string;
  readonly per1M: number;
  readonly source: string;
}

export const CAPACITIES = ['On-Demand', 'Spot'] as const;
export type Capacity = (typeof CAPACITIES)[number];

/** What a million pages cost on one GPU option. */
export interface GpuOptionCost {
  readonly instanceType: string;
  readonly gpu: string;
  readonly capacity: Capacity;
  readonly weights: Weights;
  readonly pagesAtOnce: number;
  readonly pricePerHour: number;
  readonly pagesPerHour: number;
  /** GPU instance hours. */
  readonly gpuPer1M: number;
  /** Root volume and database hours while the instance works, plus every per-request cost. */
  readonly otherPer1M: number;
  readonly totalPer1M: number;
  /** totalPer1M ÷ Textract DetectDocumentText per million pages. */
  readonly textractRatio: number;
}

export interface CostReport {
  readonly region: string;
  readonly idle: { readonly items: readonly IdleItem[]; readonly monthly: number };
  readonly perPage: readonly PerPageItem[];
  /** Every GPU option with the default model's weights. */
  readonly options: readonly GpuOptionCost[];
  /** The same with an FP8 checkpoint of the model, when the default is BF16. */
  readonly fp8Options: readonly GpuOptionCost[];
  readonly textractPer1M: { readonly detectDocumentText: number; readonly tables: number; readonly forms: number; readonly tablesAndForms: number };
}

const MILLION = 1_000_000;

// ---------------------------------------------------------------------------------------------
// Template → idle items

type Resources = Record<string, CfnResource>;

const ofType = (resources: Resources, type: string): [string, CfnResource][] =>
  Object.entries(resources).filter(([, r]) => r.Type === type);

const props = (r: CfnResource): Record<string, unknown> => r.Properties ?? {};

const asNumber = (value: unknown): number | undefined => {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
};

/** The logical id a `{Ref}` or `{Fn::GetAtt}` points at, if it is one. */
function referencedId(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as { Ref?: unknown; 'Fn::GetAtt'?: unknown };
  if (typeof v.Ref === 'string') return v.Ref;
  const getAtt = v['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  return undefined;
}

/** Every string inside a value, in order (the literal parts of an `Fn::Join`). */
function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (typeof value === 'object' && value !== null && !('Ref' in value)) return Object.values(value).flatMap(stringsIn);
  return [];
}

/** `com.amazonaws.<region>.ecr.dkr` → `ecr.dkr`, also through the `Fn::Join` the CDK writes around the region. */
export function endpointServiceName(serviceName: unknown): string {
  const joined = stringsIn(serviceName).join('');
  return /com\.amazonaws\.(?:[a-z0-9-]+)?\.(.+)$/.exec(joined)?.[1] ?? (joined || 'unknown service');
}

/** A line of `quantity` units at `price`; an hourly price passes the hours in a month as `hoursPerUnit`. */
const item = (what: string, quantity: number, unit: string, price: Sourced, hoursPerUnit = 1): IdleItem => ({
  what,
  quantity,
  unit,
  unitPrice: price.value * hoursPerUnit,
  monthly: quantity * price.value * hoursPerUnit,
  source: price.source,
});

function interfaceEndpoints(resources: Resources, a: CostAssumptions): IdleItem[] {
  const hours = a.hoursPerMonth.value;
  return ofType(resources, 'AWS::EC2::VPCEndpoint')
    .filter(([, r]) => props(r).VpcEndpointType === 'Interface')
    .map(([, r]) => {
      const subnets = props(r).SubnetIds;
      const azs = Array.isArray(subnets) ? subnets.length : a.idleUsage.defaultAzCount.value;
      return item(`Interface endpoint ${endpointServiceName(props(r).ServiceName)} (${azs} AZ)`, azs, 'AZ-month', a.idlePrices.interfaceEndpointPerAzHour, hours);
    });
}

function counted(resources: Resources, type: string, what: string, unit: string, price: Sourced, hours = 1): IdleItem[] {
  const n = ofType(resources, type).length;
  return n > 0 ? [item(what, n, unit, price, hours)] : [];
}

function waf(resources: Resources, a: CostAssumptions): IdleItem[] {
  const acls = ofType(resources, 'AWS::WAFv2::WebACL');
  if (acls.length === 0) return [];
  const rules = acls.reduce((n, [, r]) => n + (Array.isArray(props(r).Rules) ? (props(r).Rules as unknown[]).length : 0), 0);
  return [item('WAF web ACL', acls.length, 'ACL-month', a.idlePrices.wafWebAclPerMonth), item('WAF rules', rules, 'rule-month', a.idlePrices.wafRulePerMonth)];
}

function aurora(resources: Resources, a: CostAssumptions): IdleItem[] {
  const hours = a.hoursPerMonth.value;
  return ofType(resources, 'AWS::RDS::DBCluster').flatMap(([clusterId, cluster]) => {
    const scaling = props(cluster).ServerlessV2ScalingConfiguration as { MinCapacity?: unknown } | undefined;
    const instances = ofType(resources, 'AWS::RDS::DBInstance').filter(
      ([, i]) => referencedId(props(i).DBClusterIdentifier) === clusterId && props(i).DBInstanceClass === 'db.serverless',
    ).length;
    const storage = item('Aurora storage', a.idleUsage.auroraStorageGb.value, 'GB-month', a.idlePrices.auroraStoragePerGbMonth);
    if (!scaling) return [storage];
    const minAcu = asNumber(scaling.MinCapacity) ?? 0;
    const what = minAcu === 0 ? `Aurora Serverless v2 at 0 ACU minimum (pauses when idle), ${instances} instance(s)` : `Aurora Serverless v2 at ${minAcu} ACU minimum × ${instances} instance(s)`;
    return [item(what, minAcu * instances, 'ACU-month', a.idlePrices.auroraAcuHour, hours), storage];
  });
}

/** The instance type (and whether Spot) an Auto Scaling group launches, through its launch template. */
function groupInstance(resources: Resources, group: CfnResource): { type?: string; spot: boolean } {
  const p = props(group);
  const mixed = p.MixedInstancesPolicy as
    | { LaunchTemplate?: { LaunchTemplateSpecification?: { LaunchTemplateId?: unknown }; Overrides?: { InstanceType?: string }[] }; InstancesDistribution?: { OnDemandPercentageAboveBaseCapacity?: unknown } }
    | undefined;
  const spec = (mixed?.LaunchTemplate?.LaunchTemplateSpecification ?? p.LaunchTemplate) as { LaunchTemplateId?: unknown } | undefined;
  const template = resources[referencedId(spec?.LaunchTemplateId) ?? ''];
  const data = (template ? props(template).LaunchTemplateData : undefined) as { InstanceType?: string; InstanceMarketOptions?: { MarketType?: string } } | undefined;
  const launchConfig = resources[referencedId(p.LaunchConfigurationName) ?? ''];
  const type = mixed?.LaunchTemplate?.Overrides?.[0]?.InstanceType ?? data?.InstanceType ?? (launchConfig ? (props(launchConfig).InstanceType as string | undefined) : undefined);
  const spot = data?.InstanceMarketOptions?.MarketType === 'spot' || asNumber(mixed?.InstancesDistribution?.OnDemandPercentageAboveBaseCapacity) === 0;
  return { type, spot };
}

function autoScalingGroups(resources: Resources, a: CostAssumptions): IdleItem[] {
  const hours = a.hoursPerMonth.value;
  return ofType(resources, 'AWS::AutoScaling::AutoScalingGroup').map(([id, group]) => {
    const minSize = asNumber(props(group).MinSize) ?? 0;
    const { type, spot } = groupInstance(resources, group);
    const capacity: Capacity = spot ? 'Spot' : 'On-Demand';
    const price = type ? a.instances[type] : undefined;
    const what = `Auto Scaling group ${type ?? id} (${capacity}) at minimum ${minSize}`;
    if (!price) {
      if (minSize === 0) return { what, quantity: 0, unit: 'instance-month', unitPrice: 0, monthly: 0, source: 'template: MinSize 0' };
      throw new Error(`Auto Scaling group ${id} keeps ${minSize} instance(s) of ${type ?? 'an unknown type'}, which has no price in scripts/cost-assumptions.ts`);
    }
    const perMonth = instanceHourly(price, capacity) * hours;
    return { what, quantity: minSize, unit: 'instance-month', unitPrice: perMonth, monthly: minSize * perMonth, source: price.onDemandPerHour.source };
  });
}

function natGateways(resources: Resources, a: CostAssumptions): IdleItem[] {
  const hours = a.hoursPerMonth.value;
  return [
    ...counted(resources, 'AWS::EC2::NatGateway', 'NAT gateway', 'gateway-month', a.idlePrices.natGatewayPerHour, hours),
    ...counted(resources, 'AWS::EC2::EIP', 'Public IPv4 address', 'address-month', a.idlePrices.publicIpv4PerHour, hours),
  ];
}

/** Invocations a month of a `rate(…)` schedule; cron schedules are not priced (none in the template). */
export function invocationsPerMonth(expression: string, hoursPerMonth: number): number | undefined {
  const match = /^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
  if (!match) return undefined;
  const every = Number(match[1]);
  const minutes = match[2].startsWith('minute') ? every : match[2].startsWith('hour') ? every * 60 : every * 1440;
  return (hoursPerMonth * 60) / minutes;
}

/** A schedule and the functions it invokes, from an EventBridge rule or an EventBridge Scheduler schedule. */
function schedules(resources: Resources): { expression: string; targets: unknown[] }[] {
  const rules = ofType(resources, 'AWS::Events::Rule').map(([, r]) => ({ p: props(r), targets: Array.isArray(props(r).Targets) ? (props(r).Targets as { Arn?: unknown }[]).map((t) => t.Arn) : [] }));
  const scheduler = ofType(resources, 'AWS::Scheduler::Schedule').map(([, r]) => ({ p: props(r), targets: [(props(r).Target as { Arn?: unknown } | undefined)?.Arn] }));
  return [...rules, ...scheduler]
    .filter(({ p }) => typeof p.ScheduleExpression === 'string' && p.State !== 'DISABLED')
    .map(({ p, targets }) => ({ expression: p.ScheduleExpression as string, targets }));
}

function scheduledFunctions(resources: Resources, a: CostAssumptions): IdleItem[] {
  const r = a.requestPrices;
  return schedules(resources).flatMap(({ expression, targets }) => {
    const perMonth = invocationsPerMonth(expression, a.hoursPerMonth.value);
    if (perMonth === undefined) return [];
    return targets
      .map((arn) => resources[referencedId(arn) ?? ''])
      .filter((fn): fn is CfnResource => fn?.Type === 'AWS::Lambda::Function')
      .map((fn) => {
        const memoryGb = (asNumber(props(fn).MemorySize) ?? 128) / 1024;
        const perInvocation = r.lambdaPerMillionRequests.value / MILLION + a.idleUsage.scheduledFunctionSeconds.value * memoryGb * r.lambdaArmPerGbSecond.value;
        return { what: `Scheduled function (${expression})`, quantity: Math.round(perMonth), unit: 'invocation', unitPrice: perInvocation, monthly: perMonth * perInvocation, source: r.lambdaArmPerGbSecond.source };
      });
  });
}

const hasGpuRequirement = (r: CfnResource): boolean =>
  JSON.stringify(props(r).ContainerDefinitions ?? []).includes('"Type":"GPU"');

function gpuWorkerStorage(resources: Resources, a: CostAssumptions): IdleItem[] {
  if (!ofType(resources, 'AWS::ECS::TaskDefinition').some(([, r]) => hasGpuRequirement(r))) return [];
  return [
    item('Worker container image in ECR', a.idleUsage.containerImageGb.value, 'GB-month', a.idlePrices.ecrStoragePerGbMonth),
    item('Model weights in S3', a.idleUsage.modelWeightsGb.value, 'GB-month', a.requestPrices.s3StoragePerGbMonth),
  ];
}

function freeAtIdle(resources: Resources): IdleItem[] {
  const zero = (what: string, n: number, unit: string, source: string): IdleItem[] => (n > 0 ? [{ what, quantity: n, unit, unitPrice: 0, monthly: 0, source }] : []);
  const onDemandTables = ofType(resources, 'AWS::DynamoDB::Table').filter(([, r]) => props(r).BillingMode === 'PAY_PER_REQUEST').length;
  const insightClusters = ofType(resources, 'AWS::ECS::Cluster').filter(([, r]) =>
    (props(r).ClusterSettings as { Name?: string; Value?: string }[] | undefined)?.some((c) => c.Name === 'containerInsights' && c.Value !== 'disabled'),
  ).length;
  const apis = ofType(resources, 'AWS::ApiGateway::RestApi').length + ofType(resources, 'AWS::ApiGatewayV2::Api').length;
  return [
    ...zero('DynamoDB tables, on-demand (pay per request)', onDemandTables, 'table', 'https://aws.amazon.com/dynamodb/pricing/on-demand/'),
    ...zero('API Gateway APIs (pay per request)', apis, 'API', 'https://aws.amazon.com/api-gateway/pricing/'),
    ...zero('ECS Container Insights (metrics only while tasks run)', insightClusters, 'cluster', 'https://aws.amazon.com/cloudwatch/pricing/'),
  ];
}

function idleLogs(resources: Resources, a: CostAssumptions): IdleItem[] {
  if (ofType(resources, 'AWS::Logs::LogGroup').length === 0) return [];
  return [item('CloudWatch Logs ingested at idle', a.idleUsage.idleLogGbPerMonth.value, 'GB', a.requestPrices.logsIngestionPerGb)];
}

/** Everything in the template that costs money when no page is processed, one line each. */
export function idleItems(template: CfnTemplate, a: CostAssumptions): IdleItem[] {
  const resources = template.Resources ?? {};
  const p = a.idlePrices;
  return [
    ...interfaceEndpoints(resources, a),
    ...natGateways(resources, a),
    ...counted(resources, 'AWS::KMS::Key', 'KMS customer managed keys', 'key-month', p.kmsKeyPerMonth),
    ...counted(resources, 'AWS::SecretsManager::Secret', 'Secrets Manager secrets', 'secret-month', p.secretPerMonth),
    ...waf(resources, a),
    ...counted(resources, 'AWS::CloudWatch::Alarm', 'CloudWatch alarms', 'alarm-month', p.alarmPerMonth),
    ...counted(resources, 'AWS::CloudWatch::CompositeAlarm', 'CloudWatch composite alarms', 'alarm-month', p.compositeAlarmPerMonth),
    ...aurora(resources, a),
    ...autoScalingGroups(resources, a),
    ...scheduledFunctions(resources, a),
    ...gpuWorkerStorage(resources, a),
    ...idleLogs(resources, a),
    ...freeAtIdle(resources),
  ];
}

export const monthlyTotal = (items: readonly IdleItem[]): number => items.reduce((sum, i) => sum + i.monthly, 0);

// ---------------------------------------------------------------------------------------------
// Assumptions → per-page costs

/** Dollars per million pages of every request a page makes, per-document counts spread over its pages. */
export function perPageItems(a: CostAssumptions): PerPageItem[] {
  const r = a.requestPrices;
  const u = a.usage;
  const docsPer1M = MILLION / a.workload.pagesPerDocument.value;
  const apiRequests = docsPer1M * u.apiRequestsPerDocument.value;
  const retentionMonths = (days: number): number => days / 30;
  return [
    { what: 'API Gateway + WAF requests', per1M: (apiRequests * (r.apiGatewayPerMillion.value + r.wafPerMillionRequests.value)) / MILLION, source: r.apiGatewayPerMillion.source },
    {
      what: 'Lambda (API handlers and intake)',
      per1M:
        ((apiRequests + docsPer1M) * r.lambdaPerMillionRequests.value) / MILLION +
        (apiRequests * u.apiGbSecondsPerRequest.value + docsPer1M * u.intakeGbSecondsPerDocument.value) * r.lambdaArmPerGbSecond.value,
      source: r.lambdaArmPerGbSecond.source,
    },
    { what: 'SQS requests', per1M: (docsPer1M * u.sqsRequestsPerDocument.value * r.sqsPerMillion.value) / MILLION, source: r.sqsPerMillion.source },
    { what: 'EventBridge events', per1M: (docsPer1M * u.eventsPerDocument.value * r.eventBridgePerMillionEvents.value) / MILLION, source: r.eventBridgePerMillionEvents.source },
    {
      what: 'S3 PUT (upload, checkpoints, previews, results)',
      per1M: ((docsPer1M * u.s3PutsPerDocument.value + MILLION * u.s3PutsPerPage.value) * r.s3PutPerThousand.value) / 1000,
      source: r.s3PutPerThousand.source,
    },
    { what: 'S3 GET', per1M: (docsPer1M * u.s3GetsPerDocument.value * r.s3GetPerThousand.value) / 1000, source: r.s3GetPerThousand.source },
    { what: 'KMS requests', per1M: (docsPer1M * u.kmsRequestsPerDocument.value * r.kmsPer10000Requests.value) / 10_000, source: r.kmsPer10000Requests.source },
    {
      what: 'S3 storage for the retention periods (7 d uploads, 90 d results)',
      per1M: ((MILLION * u.uploadMegabytesPerPage.value * retentionMonths(7) + MILLION * u.resultMegabytesPerPage.value * retentionMonths(90)) / 1000) * r.s3StoragePerGbMonth.value,
      source: r.s3StoragePerGbMonth.source,
    },
    {
      what: 'CloudWatch Logs ingestion and a year of storage',
      per1M: ((MILLION * u.logKilobytesPerPage.value) / MILLION) * (r.logsIngestionPerGb.value + 12 * r.logsStoragePerGbMonth.value),
      source: r.logsIngestionPerGb.source,
    },
  ];
}

export type Weights = 'BF16' | 'FP8';

/** The precision a model id names (lib/gpu-sizing.ts): `…-FP8` checkpoints hold FP8 weights; others are priced as BF16. */
export const weightsOf = (modelId: string): Weights => (precisionOf(modelId) === 'FP8' ? 'FP8' : 'BF16');

/** What one GPU does with the model, derived from its datasheet and the model's shape. */
export interface Throughput {
  readonly weights: Weights;
  /** Pages decoding together: the worker's pages in flight, or fewer where the KV cache runs out. */
  readonly pagesAtOnce: number;
  readonly decodeTokensPerSecond: number;
  readonly prefillSecondsPerPage: number;
  readonly gpuSecondsPerPage: number;
  /** Pages an instance finishes in an hour, at the assumed utilisation. */
  readonly pagesPerHour: number;
}

const GIB = 1024 ** 3;

/**
 * Throughput of one GPU on dense pages. Decode is bound by memory bandwidth: each step reads the
 * language model's weights once for the whole batch plus every page's KV cache. Prefill (the
 * vision encoder over the page's patches, then the language model over its visual tokens) is bound
 * by tensor throughput. A page costs its prefill time plus its share of the batch's decode time.
 */
export function throughput(type: GpuInstanceType, a: CostAssumptions, weights: Weights = weightsOf(a.model.id)): Throughput {
  const gpu = a.gpus[type.gpu];
  if (!gpu) throw new Error(`${type.gpu} has no datasheet figures in scripts/cost-assumptions.ts`);
  const m = a.model;
  const visual = a.workload.visualTokensPerPage.value;
  const output = a.workload.outputTokensPerPage.value;
  const languageWeightBytes = m.languageParamsBillions.value * 1e9 * (weights === 'FP8' ? 1 : 2);
  // FP8 checkpoints keep the vision encoder in BF16.
  const weightBytes = languageWeightBytes + m.visionParamsBillions.value * 1e9 * 2;
  const kvBytesPerToken = 2 * m.languageLayers.value * m.kvHeads.value * m.headDim.value * 2;
  const meanContextBytes = (visual + output / 2) * kvBytesPerToken;
  const kvBudget = type.gpuMemoryGiB * GIB * a.serving.gpuMemoryUtilization.value - weightBytes - a.serving.runtimeReserveGiB.value * GIB;
  const pagesAtOnce = Math.min(a.workload.pagesInFlight.value, Math.floor(kvBudget / meanContextBytes));
  if (pagesAtOnce < 1) throw new Error(`${m.id} (${weights}) leaves no room for a page's KV cache on ${type.instanceType}`);

  const stepSeconds = (languageWeightBytes + pagesAtOnce * meanContextBytes) / (gpu.memoryBandwidthGBps.value * 1e9);
  const decodeTokensPerSecond = (pagesAtOnce / stepSeconds) * a.serving.decodeEfficiency.value;

  const patches = visual * m.patchesPerVisualToken.value;
  const languageFlops = 2 * m.languageParamsBillions.value * 1e9 * visual + 4 * m.languageLayers.value * visual ** 2 * m.languageHiddenSize.value;
  const visionFlops = 2 * m.visionParamsBillions.value * 1e9 * patches + 4 * m.visionLayers.value * patches ** 2 * m.visionHiddenSize.value;
  const bf16 = gpu.denseBf16Tflops.value * 1e12 * a.serving.prefillEfficiency.value;
  const languagePeak = weights === 'FP8' && gpu.denseFp8Tflops ? gpu.denseFp8Tflops.value * 1e12 * a.serving.prefillEfficiency.value : bf16;
  const prefillSecondsPerPage = languageFlops / languagePeak + visionFlops / bf16;

  const gpuSecondsPerPage = prefillSecondsPerPage + output / decodeTokensPerSecond;
  const pagesPerHour = (3600 / gpuSecondsPerPage) * a.workload.utilisation.value;
  return { weights, pagesAtOnce, decodeTokensPerSecond, prefillSecondsPerPage, gpuSecondsPerPage, pagesPerHour };
}

export function instanceHourly(price: InstancePrice, capacity: Capacity): number {
  return capacity === 'On-Demand' ? price.onDemandPerHour.value : price.onDemandPerHour.value * (1 - price.spotDiscount.value);
}

/** Costs that run with each working instance besides its own price: its root volume, its Container Insights metrics and the database it keeps awake. */
function workingExtrasPerHour(a: CostAssumptions): number {
  const perHour = (monthly: number): number => monthly / a.hoursPerMonth.value;
  const volume = perHour(
    a.usage.gpuRootVolumeGb.value * a.requestPrices.ebsGp3PerGbMonth.value +
      a.usage.gpuRootVolumeExtraMibps.value * a.requestPrices.ebsGp3PerMibpsMonth.value +
      a.usage.gpuRootVolumeExtraIops.value * a.requestPrices.ebsGp3PerIopsMonth.value,
  );
  const metrics = perHour(a.usage.containerInsightsMetricsWhileWorking.value * a.requestPrices.customMetricPerMonth.value);
  return volume + metrics + a.usage.databaseAcuWhileWorking.value * a.idlePrices.auroraAcuHour.value;
}

/** Both capacities of every GPU option, each with its cost per million pages beside Textract. */
export function gpuOptionCosts(types: readonly GpuInstanceType[], a: CostAssumptions, weights: Weights = weightsOf(a.model.id)): GpuOptionCost[] {
  const requestsPer1M = perPageItems(a).reduce((sum, i) => sum + i.per1M, 0);
  const textractPer1M = a.textract.detectDocumentTextPer1000.value * 1000;
  return types.flatMap((t) => {
    const price = a.instances[t.instanceType];
    if (!price) throw new Error(`${t.instanceType} has no price in scripts/cost-assumptions.ts`);
    const gpu = throughput(t, a, weights);
    const hoursPer1M = MILLION / gpu.pagesPerHour;
    return CAPACITIES.map((capacity): GpuOptionCost => {
      const pricePerHour = instanceHourly(price, capacity);
      const gpuPer1M = hoursPer1M * pricePerHour;
      const otherPer1M = hoursPer1M * workingExtrasPerHour(a) + requestsPer1M;
      const totalPer1M = gpuPer1M + otherPer1M;
      return {
        instanceType: t.instanceType,
        gpu: t.gpu,
        capacity,
        weights,
        pagesAtOnce: gpu.pagesAtOnce,
        pricePerHour,
        pagesPerHour: gpu.pagesPerHour,
        gpuPer1M,
        otherPer1M,
        totalPer1M,
        textractRatio: totalPer1M / textractPer1M,
      };
    });
  });
}

/** The whole report: idle bill from the template, per-page costs from the assumptions. */
export function costReport(template: CfnTemplate, types: readonly GpuInstanceType[], a: CostAssumptions): CostReport {
  const items = idleItems(template, a);
  const t = a.textract;
  return {
    region: a.region,
    idle: { items, monthly: monthlyTotal(items) },
    perPage: perPageItems(a),
    options: gpuOptionCosts(types, a),
    fp8Options: weightsOf(a.model.id) === 'FP8' ? [] : gpuOptionCosts(types, a, 'FP8'),
    textractPer1M: {
      detectDocumentText: t.detectDocumentTextPer1000.value * 1000,
      tables: t.analyzeTablesPer1000.value * 1000,
      forms: t.analyzeFormsPer1000.value * 1000,
      tablesAndForms: t.analyzeTablesAndFormsPer1000.value * 1000,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Overrides

export interface PriceOverride {
  readonly onDemand: number;
  readonly spot?: number;
}

/** `g6e.xlarge=1.861` or `g6e.xlarge=1.861/0.80` (On-Demand / Spot dollars an hour). */
export function parsePriceOverride(text: string): [string, PriceOverride] {
  const match = /^([a-z0-9]+\.[a-z0-9]+)=(\d+(?:\.\d+)?)(?:\/(\d+(?:\.\d+)?))?$/.exec(text.trim());
  if (!match) throw new Error(`--price expects <instance type>=<On-Demand $/h>[/<Spot $/h>], e.g. g6e.xlarge=1.861/0.80; got "${text}"`);
  const onDemand = Number(match[2]);
  const spot = match[3] === undefined ? undefined : Number(match[3]);
  if (onDemand <= 0 || (spot !== undefined && (spot <= 0 || spot > onDemand))) throw new Error(`--price ${text}: prices must be positive and Spot no more than On-Demand`);
  return [match[1], spot === undefined ? { onDemand } : { onDemand, spot }];
}

/** The assumptions with some instance prices replaced; the replaced figures say they came from the command line. */
export function withPriceOverrides(a: CostAssumptions, overrides: ReadonlyMap<string, PriceOverride>): CostAssumptions {
  const instances = { ...a.instances };
  for (const [type, o] of overrides) {
    const base = instances[type];
    if (!base) throw new Error(`--price: ${type} is not a GPU option (lib/gpu-instances.ts)`);
    const given = (value: number): Sourced => ({ value, source: 'command line (--price)', checked: 'as given' });
    instances[type] = {
      onDemandPerHour: given(o.onDemand),
      spotDiscount: o.spot === undefined ? base.spotDiscount : given(1 - o.spot / o.onDemand),
    };
  }
  return { ...a, instances };
}
