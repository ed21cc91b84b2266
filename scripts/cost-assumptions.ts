/**
 * Every number the cost model (scripts/cost-model.ts) uses, as data: each with where it comes from,
 * when it was checked, and whether it is a list price or an estimate. Nothing here is measured on
 * this project's own GPU fleet; throughput figures are estimates and say how they were derived.
 * Edit a value here (or pass `--price` to `npm run cost`) to price your own account or region.
 */
import { DEFAULT_VLLM_GPU_MEMORY_UTILIZATION, PIXELS_PER_IMAGE_TOKEN } from '../inference-container/src/vllm-limits';
import { SETTINGS } from '../lib/config';
import { GP3_BASELINE_IOPS, GP3_BASELINE_MIBPS, ROOT_VOLUME_IOPS, ROOT_VOLUME_THROUGHPUT_MIBPS } from '../lib/gpu-root-volume';
import { DEFAULT_MAX_PAGE_PIXELS } from '../src/pipeline/page-limits';

/** A figure and its provenance. `estimate: true` marks a value derived by reasoning, not read from a price list, datasheet or config. */
export interface Sourced {
  readonly value: number;
  readonly source: string;
  /** ISO date a stored copy of the source showed the figure, or `unconfirmed (date)` where none did. */
  readonly checked: string;
  readonly estimate?: boolean;
  readonly note?: string;
}

const CHECKED = '2026-11-29';

/** A published figure: an AWS list price, a datasheet or model config value, a project default. */
const published = (value: number, source: string, note?: string): Sourced => ({ value, source, checked: CHECKED, ...(note ? { note } : {}) });
/**
 * A published figure that no stored copy of its page showed when it was checked: the value as
 * published when last read, to confirm before relying on it.
 */
const unconfirmed = (value: number, source: string, note?: string): Sourced => ({
  value,
  source,
  checked: `unconfirmed (${CHECKED})`,
  note: [note, 'No stored copy of the page searched on the date checked showed this figure; confirm it on the page.'].filter(Boolean).join(' '),
});
/** A figure derived by reasoning; `note` says how. */
const estimated = (value: number, source: string, note: string): Sourced => ({ value, source, checked: CHECKED, estimate: true, note });

const EC2_ON_DEMAND = 'https://aws.amazon.com/ec2/pricing/on-demand/ (Linux, us-east-1; the same figures appear in public copies of the console price list)';
const SPOT_NOTE =
  'Spot prices move with supply and demand and differ per Availability Zone; they are volatile. Public price trackers put G5/G6/G6e Spot at roughly 40–70% below On-Demand in us-east-1; 55% is taken as a middle figure. Check the Spot price history for your AZs.';
const SPOT_SOURCE = 'https://aws.amazon.com/ec2/spot/pricing/ and the Spot Instance Advisor (volatile)';

/** One EC2 GPU instance type: what an hour costs. */
export interface InstancePrice {
  readonly onDemandPerHour: Sourced;
  /** Fraction below On-Demand a Spot hour typically costs (0.55 = 55% off). */
  readonly spotDiscount: Sourced;
}

const spot = estimated(0.55, SPOT_SOURCE, SPOT_NOTE);

/** One GPU model's hardware, from its datasheet (dense figures: the datasheets' larger ones assume sparsity). */
export interface GpuSpec {
  readonly memoryBandwidthGBps: Sourced;
  readonly denseBf16Tflops: Sourced;
  /** Absent where the GPU has no FP8 tensor cores (FP8 weights then run through weight-only kernels at BF16 speed). */
  readonly denseFp8Tflops?: Sourced;
}

/** The served model's shape, which decides its memory traffic and arithmetic per page. */
export interface ModelShape {
  /** Default `untxt:modelId`; an id containing `FP8` means FP8 weights. */
  readonly id: string;
  readonly languageParamsBillions: Sourced;
  readonly languageLayers: Sourced;
  readonly languageHiddenSize: Sourced;
  readonly kvHeads: Sourced;
  readonly headDim: Sourced;
  readonly visionParamsBillions: Sourced;
  readonly visionLayers: Sourced;
  readonly visionHiddenSize: Sourced;
  /** 16×16 patches merged 2×2 into one visual token. */
  readonly patchesPerVisualToken: Sourced;
}

/** How the container runs vLLM, and how close to the hardware's peak it gets. */
export interface Serving {
  readonly gpuMemoryUtilization: Sourced;
  readonly runtimeReserveGiB: Sourced;
  readonly decodeEfficiency: Sourced;
  readonly prefillEfficiency: Sourced;
}

/** The workload one page puts on the GPU. */
export interface Workload {
  readonly visualTokensPerPage: Sourced;
  readonly outputTokensPerPage: Sourced;
  readonly pagesInFlight: Sourced;
  readonly utilisation: Sourced;
  readonly pagesPerDocument: Sourced;
}

export interface CostAssumptions {
  readonly region: string;
  readonly hoursPerMonth: Sourced;
  /** Keyed by EC2 instance type; every type in lib/gpu-instances.ts must have an entry. */
  readonly instances: Readonly<Record<string, InstancePrice>>;
  /** Keyed by the GPU name used in lib/gpu-instances.ts. */
  readonly gpus: Readonly<Record<string, GpuSpec>>;
  readonly model: ModelShape;
  readonly serving: Serving;
  readonly workload: Workload;
  readonly textract: {
    readonly detectDocumentTextPer1000: Sourced;
    readonly analyzeTablesPer1000: Sourced;
    readonly analyzeFormsPer1000: Sourced;
    readonly analyzeTablesAndFormsPer1000: Sourced;
  };
  /** Unit prices of what each document and page uses while it is processed. */
  readonly requestPrices: {
    readonly apiGatewayPerMillion: Sourced;
    readonly wafPerMillionRequests: Sourced;
    readonly lambdaPerMillionRequests: Sourced;
    readonly lambdaArmPerGbSecond: Sourced;
    readonly sqsPerMillion: Sourced;
    readonly eventBridgePerMillionEvents: Sourced;
    readonly s3PutPerThousand: Sourced;
    readonly s3GetPerThousand: Sourced;
    readonly s3StoragePerGbMonth: Sourced;
    readonly kmsPer10000Requests: Sourced;
    readonly logsIngestionPerGb: Sourced;
    readonly logsStoragePerGbMonth: Sourced;
    readonly ebsGp3PerGbMonth: Sourced;
    readonly ebsGp3PerMibpsMonth: Sourced;
    readonly ebsGp3PerIopsMonth: Sourced;
    readonly customMetricPerMonth: Sourced;
  };
  /** How many of each request one document or one page makes (estimates from the code paths). */
  readonly usage: {
    readonly apiRequestsPerDocument: Sourced;
    readonly apiGbSecondsPerRequest: Sourced;
    readonly intakeGbSecondsPerDocument: Sourced;
    readonly sqsRequestsPerDocument: Sourced;
    readonly eventsPerDocument: Sourced;
    readonly s3PutsPerDocument: Sourced;
    readonly s3PutsPerPage: Sourced;
    readonly s3GetsPerDocument: Sourced;
    readonly kmsRequestsPerDocument: Sourced;
    readonly uploadMegabytesPerPage: Sourced;
    readonly resultMegabytesPerPage: Sourced;
    readonly logKilobytesPerPage: Sourced;
    readonly gpuRootVolumeGb: Sourced;
    readonly gpuRootVolumeExtraMibps: Sourced;
    readonly gpuRootVolumeExtraIops: Sourced;
    /** Aurora ACUs while the fleet works (the database resumes from 0 and serves claims and checkpoints). */
    readonly databaseAcuWhileWorking: Sourced;
    readonly containerInsightsMetricsWhileWorking: Sourced;
  };
  /** Unit prices of what the template keeps running when no document is processed. */
  readonly idlePrices: {
    readonly interfaceEndpointPerAzHour: Sourced;
    readonly kmsKeyPerMonth: Sourced;
    readonly secretPerMonth: Sourced;
    readonly wafWebAclPerMonth: Sourced;
    readonly wafRulePerMonth: Sourced;
    readonly alarmPerMonth: Sourced;
    readonly compositeAlarmPerMonth: Sourced;
    readonly auroraAcuHour: Sourced;
    readonly auroraStoragePerGbMonth: Sourced;
    readonly natGatewayPerHour: Sourced;
    readonly publicIpv4PerHour: Sourced;
    readonly ecrStoragePerGbMonth: Sourced;
  };
  /** Sizes of what sits in storage at idle. */
  readonly idleUsage: {
    readonly auroraStorageGb: Sourced;
    readonly containerImageGb: Sourced;
    readonly modelWeightsGb: Sourced;
    readonly scheduledFunctionSeconds: Sourced;
    readonly idleLogGbPerMonth: Sourced;
    /** Availability zones assumed for an interface endpoint whose subnets the template does not list. */
    readonly defaultAzCount: Sourced;
  };
}

const LAMBDA = 'https://aws.amazon.com/lambda/pricing/';
const TEXTRACT = 'https://aws.amazon.com/textract/pricing/';
const S3 = 'https://aws.amazon.com/s3/pricing/ (S3 Standard, us-east-1)';
const CW = 'https://aws.amazon.com/cloudwatch/pricing/';

export const COST_ASSUMPTIONS: CostAssumptions = {
  region: 'us-east-1',
  hoursPerMonth: published(730, 'AWS pricing convention (8,760 hours ÷ 12)'),
  instances: {
    'g5.xlarge': { onDemandPerHour: published(1.006, EC2_ON_DEMAND), spotDiscount: spot },
    'g5.2xlarge': { onDemandPerHour: published(1.212, EC2_ON_DEMAND), spotDiscount: spot },
    'g6.xlarge': { onDemandPerHour: published(0.8048, EC2_ON_DEMAND), spotDiscount: spot },
    'g6.2xlarge': { onDemandPerHour: published(0.9776, EC2_ON_DEMAND), spotDiscount: spot },
    'g6e.xlarge': { onDemandPerHour: published(1.861, EC2_ON_DEMAND), spotDiscount: spot },
    'g6e.2xlarge': { onDemandPerHour: published(2.24208, EC2_ON_DEMAND), spotDiscount: spot },
  },
  gpus: {
    'NVIDIA A10G': {
      memoryBandwidthGBps: unconfirmed(600, 'NVIDIA A10 datasheet (the A10G is the same GA102 chip)'),
      denseBf16Tflops: unconfirmed(125, 'NVIDIA A10 datasheet (250 with sparsity)'),
    },
    'NVIDIA L4': {
      memoryBandwidthGBps: unconfirmed(300, 'NVIDIA L4 datasheet'),
      denseBf16Tflops: unconfirmed(121, 'NVIDIA L4 datasheet (242 with sparsity)'),
      denseFp8Tflops: unconfirmed(242, 'NVIDIA L4 datasheet (485 with sparsity)'),
    },
    'NVIDIA L40S': {
      memoryBandwidthGBps: unconfirmed(864, 'NVIDIA L40S datasheet'),
      denseBf16Tflops: unconfirmed(362, 'NVIDIA L40S datasheet (733 with sparsity)'),
      denseFp8Tflops: unconfirmed(733, 'NVIDIA L40S datasheet (1,466 with sparsity)'),
    },
  },
  model: {
    id: SETTINGS.modelId.default,
    languageParamsBillions: estimated(8.2, 'Qwen3-8B, the language model of Qwen3-VL-8B', 'The BF16 checkpoint is ~18 GB in all (ollama.com/library/qwen3-vl:8b-instruct-bf16), about 1.2 GB of it the vision encoder.'),
    languageLayers: published(36, 'Qwen3-VL-8B config, block_count (ollama.com/library/qwen3-vl model metadata)'),
    languageHiddenSize: published(4096, 'Qwen3-VL-8B config, embedding_length'),
    kvHeads: published(8, 'Qwen3-VL-8B config, head_count_kv'),
    headDim: published(128, 'Qwen3-VL-8B config, key_length and value_length'),
    visionParamsBillions: estimated(
      0.57,
      'Qwen3-VL-8B vision config: 27 blocks 1,152 wide, MLP 4,304, a merger and three DeepStack mergers',
      '27 × (4 × 1,152² + 2 × 1,152 × 4,304) ≈ 0.41 B in the blocks, ~0.16 B in the mergers.',
    ),
    visionLayers: published(27, 'Qwen3-VL-8B vision config, depth'),
    visionHiddenSize: published(1152, 'Qwen3-VL-8B vision config, hidden_size'),
    patchesPerVisualToken: published(4, 'Qwen3-VL-8B vision config: patch_size 16, spatial_merge_size 2'),
  },
  serving: {
    gpuMemoryUtilization: published(DEFAULT_VLLM_GPU_MEMORY_UTILIZATION, 'the container\'s VLLM_GPU_MEMORY_UTILIZATION default (vLLM --gpu-memory-utilization)'),
    runtimeReserveGiB: estimated(2, 'estimate', 'Activations of the largest prefill, CUDA graphs and the vision encoder\'s working memory: inside vLLM\'s share but not available to the KV cache.'),
    decodeEfficiency: estimated(
      0.65,
      'anchored on databasemart.com/blog/vllm-gpu-benchmark-a40',
      'Share of the memory-bandwidth bound a decode step reaches. A published vLLM run of Llama-3.1-8B (BF16) on an A40 (696 GB/s) at 50 concurrent requests gave 1,016 output tokens/s: 0.54 of this model\'s bound for that run, ramp-down tail included; steady state is taken a little higher.',
    ),
    prefillEfficiency: estimated(0.4, 'estimate', 'Share of the dense tensor peak reached while encoding a page and prefilling its tokens (large matrix products); a common figure for transformer prefill, not measured here.'),
  },
  workload: {
    visualTokensPerPage: estimated(
      Math.round(DEFAULT_MAX_PAGE_PIXELS / PIXELS_PER_IMAGE_TOKEN),
      'Qwen3-VL: one visual token per 32×32 pixels (Qwen3-VL cookbook; vLLM max_pixels); the worker bounds a page at 2,500,000 pixels (VLLM_MAX_PIXELS)',
      '2,500,000 ÷ 1,024 ≈ 2,441 tokens at the bound; smaller scans use fewer.',
    ),
    outputTokensPerPage: estimated(
      1200,
      'estimate for a dense page in the qwenvl html format',
      'A dense single-spaced page holds ~500–700 words (~800–1,000 text tokens); the HTML adds ~20–25 tokens of markup and data-bbox per block, 20–40 blocks a page, so ~1,000–1,500 tokens; 1,200 is taken. Sparse pages (letters, forms) produce far fewer, and cost proportionally less.',
    ),
    pagesInFlight: published(SETTINGS.maxPagesInFlight.default, 'untxt:maxPagesInFlight default (lib/config.ts), also vLLM --max-num-seqs'),
    utilisation: estimated(
      0.8,
      'estimate',
      'Share of a running instance\'s hours spent at full batch: the pool refills between pages, rasterization and uploads overlap imperfectly, and bursts end with partial batches. Excludes the 15-minute idle tail before scale-in and the model load at start (a few minutes per scale-out), which depend on how the work arrives.',
    ),
    pagesPerDocument: estimated(10, 'estimate', 'Used only to spread per-document requests (API calls, intake, events) over pages.'),
  },
  textract: {
    detectDocumentTextPer1000: unconfirmed(1.5, `${TEXTRACT} (DetectDocumentText, first 1 M pages a month, us-east-1)`, '$0.60 per 1,000 beyond 1 M pages a month.'),
    analyzeTablesPer1000: unconfirmed(15, `${TEXTRACT} (AnalyzeDocument Tables, first 1 M pages a month)`, 'About 10× DetectDocumentText, as third-party pricing guides also put it.'),
    analyzeFormsPer1000: unconfirmed(50, `${TEXTRACT} (AnalyzeDocument Forms, first 1 M pages a month)`),
    analyzeTablesAndFormsPer1000: unconfirmed(65, `${TEXTRACT} (AnalyzeDocument Tables + Forms, first 1 M pages a month)`),
  },
  requestPrices: {
    apiGatewayPerMillion: unconfirmed(3.5, 'https://aws.amazon.com/api-gateway/pricing/ (REST API, first 333 M requests)'),
    wafPerMillionRequests: unconfirmed(0.6, 'https://aws.amazon.com/waf/pricing/'),
    lambdaPerMillionRequests: unconfirmed(0.2, LAMBDA),
    lambdaArmPerGbSecond: unconfirmed(0.0000133334, `${LAMBDA} (Arm, first 7.5 B GB-seconds)`),
    sqsPerMillion: unconfirmed(0.4, 'https://aws.amazon.com/sqs/pricing/ (standard queue, per 64 KB request)'),
    eventBridgePerMillionEvents: unconfirmed(1, 'https://aws.amazon.com/eventbridge/pricing/ (custom events)'),
    s3PutPerThousand: unconfirmed(0.005, S3),
    s3GetPerThousand: unconfirmed(0.0004, S3),
    s3StoragePerGbMonth: unconfirmed(0.023, S3),
    kmsPer10000Requests: published(0.03, 'https://aws.amazon.com/kms/pricing/ (also quoted in public notes: $1 a key a month, $0.03 per 10,000 requests)'),
    logsIngestionPerGb: unconfirmed(0.5, `${CW} (Logs standard ingestion)`),
    logsStoragePerGbMonth: unconfirmed(0.03, `${CW} (Logs storage, compressed; untxt:logRetentionDays keeps them 365 days)`),
    customMetricPerMonth: unconfirmed(0.3, `${CW} (custom metric, first 10,000; prorated by the hours a metric receives data)`),
    ebsGp3PerGbMonth: unconfirmed(0.08, 'https://aws.amazon.com/ebs/pricing/ (gp3)'),
    ebsGp3PerMibpsMonth: unconfirmed(0.04, 'https://aws.amazon.com/ebs/pricing/ (gp3 throughput provisioned above the free 125 MiB/s)'),
    ebsGp3PerIopsMonth: unconfirmed(0.005, 'https://aws.amazon.com/ebs/pricing/ (gp3 IOPS provisioned above the free 3,000)'),
  },
  usage: {
    apiRequestsPerDocument: estimated(6, 'estimate from the API routes', 'Declare upload, a few status reads, fetch the result; each is one API Gateway request, one WAF inspection and one Lambda invocation.'),
    apiGbSecondsPerRequest: estimated(0.2, 'estimate', 'A route handler of ~200 ms at 1 GB (database query included).'),
    intakeGbSecondsPerDocument: estimated(5, 'estimate from lib/pipeline.ts intake settings', 'One intake invocation (ranged reads and a probe) of ~5 s at 1 GB.'),
    sqsRequestsPerDocument: estimated(12, 'estimate', 'Intake and jobs queues: send, receive and delete each, plus visibility extensions while a job runs.'),
    eventsPerDocument: estimated(4, 'estimate from the task states', 'Task Status Changed for queued, processing, done, and the S3 upload notification.'),
    s3PutsPerDocument: estimated(3, 'estimate from src/domain/storage-keys.ts', 'The upload, the assembled HTML and the JSON result.'),
    s3PutsPerPage: estimated(2, 'estimate from src/domain/storage-keys.ts', 'A page checkpoint (pages/{n}.json) and its WebP preview.'),
    s3GetsPerDocument: estimated(10, 'estimate', 'Intake ranged reads, the worker\'s download, checkpoint reads on resume, the client\'s result download.'),
    kmsRequestsPerDocument: estimated(2, 'estimate', 'S3 Bucket Keys are on, so S3 calls KMS about once per bucket key, not per object; two per document is generous.'),
    uploadMegabytesPerPage: estimated(0.3, 'estimate', 'A scanned page as PDF/TIFF; kept for untxt:uploadExpiryDays (7).'),
    resultMegabytesPerPage: estimated(0.08, 'estimate', 'Checkpoint JSON, WebP preview and HTML; kept for untxt:resultExpiryDays (90).'),
    logKilobytesPerPage: estimated(1, 'estimate', 'Structured worker log lines per page.'),
    gpuRootVolumeGb: estimated(100, 'lib/gpu-capacity.ts rootVolumeGiB for an 8B model', 'The gp3 root volume holds the vLLM image and the model weights; the fleet sizes it from the weights, at least 100 GiB.'),
    gpuRootVolumeExtraMibps: published(ROOT_VOLUME_THROUGHPUT_MIBPS - GP3_BASELINE_MIBPS, 'lib/gpu-capacity.ts ROOT_VOLUME_THROUGHPUT_MIBPS less the free gp3 baseline', 'Billed only while the instance (and so its volume) exists.'),
    gpuRootVolumeExtraIops: published(ROOT_VOLUME_IOPS - GP3_BASELINE_IOPS, 'lib/gpu-capacity.ts ROOT_VOLUME_IOPS less the free gp3 baseline', 'Billed only while the instance (and so its volume) exists.'),
    databaseAcuWhileWorking: estimated(0.5, 'estimate', 'Claims, leases and page checkpoints are small writes; Aurora Serverless v2 at its 0.5 ACU floor once resumed.'),
    containerInsightsMetricsWhileWorking: estimated(
      30,
      'Container Insights metrics are charged as CloudWatch custom metrics (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/ContainerInsights.html)',
      'Cluster, service, task and instance metrics of one working worker; billed only for the hours they receive data, so nothing at idle.',
    ),
  },
  idlePrices: {
    interfaceEndpointPerAzHour: unconfirmed(0.01, 'https://aws.amazon.com/privatelink/pricing/ (interface endpoint per AZ-hour)', 'Plus $0.01 per GB processed.'),
    kmsKeyPerMonth: published(1, 'https://aws.amazon.com/kms/pricing/ (customer managed key; also quoted in public notes)'),
    secretPerMonth: unconfirmed(0.4, 'https://aws.amazon.com/secrets-manager/pricing/'),
    wafWebAclPerMonth: unconfirmed(5, 'https://aws.amazon.com/waf/pricing/'),
    wafRulePerMonth: unconfirmed(1, 'https://aws.amazon.com/waf/pricing/', 'A managed rule group counts as one rule.'),
    alarmPerMonth: unconfirmed(0.1, `${CW} (standard-resolution metric alarm)`),
    compositeAlarmPerMonth: unconfirmed(0.5, CW),
    auroraAcuHour: published(0.12, 'https://aws.amazon.com/rds/aurora/pricing/ (Serverless v2, Aurora Standard, us-east-1; the same in the us-east-1 defaults of AWS\'s agent-toolkit ACU calculator, 2026-03-28)'),
    auroraStoragePerGbMonth: published(0.1, 'https://aws.amazon.com/rds/aurora/pricing/ (Aurora Standard storage; the same source as the ACU price)'),
    natGatewayPerHour: unconfirmed(0.045, 'https://aws.amazon.com/vpc/pricing/'),
    publicIpv4PerHour: unconfirmed(0.005, 'https://aws.amazon.com/vpc/pricing/ (public IPv4 address)'),
    ecrStoragePerGbMonth: unconfirmed(0.1, 'https://aws.amazon.com/ecr/pricing/'),
  },
  idleUsage: {
    auroraStorageGb: estimated(1, 'estimate', 'Users, tasks and audit rows of a small deployment; storage is billed even while the cluster is paused.'),
    containerImageGb: estimated(12, 'estimate', 'The vLLM OpenAI-server base image plus Node and the worker, compressed in ECR.'),
    modelWeightsGb: estimated(17.5, 'Qwen/Qwen3-VL-8B-Instruct safetensors (BF16) on Hugging Face', 'About 8.8 B parameters × 2 bytes.'),
    scheduledFunctionSeconds: estimated(1, 'estimate', 'Duration of one scheduled invocation (the scaler reads the queue and the service, then returns).'),
    idleLogGbPerMonth: estimated(0.2, 'estimate', 'Flow logs of idle endpoint traffic and the scheduled functions\' log lines.'),
    defaultAzCount: published(2, 'lib/network.ts (two isolated subnets)'),
  },
};
