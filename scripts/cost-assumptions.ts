/**
 * Every number the cost model (scripts/cost-model.ts) uses, as data: each with where it comes from,
 * when it was checked, and whether it is a list price or an estimate. Nothing here is measured on
 * this project's own GPU fleet; throughput figures are estimates and say how they were derived.
 * Edit a value here (or pass `--price` to `npm run cost`) to price your own account or region.
 */

/** A figure and its provenance. `estimate: true` marks a value derived by reasoning, not read from a price list. */
export interface Sourced {
  readonly value: number;
  readonly source: string;
  /** ISO date the figure was last looked up. */
  readonly checked: string;
  readonly estimate?: boolean;
  readonly note?: string;
}

const CHECKED = '2026-11-29';

/** A list price as published by AWS. */
const listed = (value: number, source: string, note?: string): Sourced => ({ value, source, checked: CHECKED, ...(note ? { note } : {}) });
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

/** One GPU model serving Qwen3-VL-8B with vLLM. */
export interface GpuThroughput {
  /** Aggregate output (decode) tokens per second with the worker's pages in flight. */
  readonly decodeTokensPerSecond: Sourced;
  /** Visual input tokens per second through the vision encoder and the language model's prefill. */
  readonly prefillTokensPerSecond: Sourced;
}

const DECODE_METHOD =
  'Step-time model for Qwen3-VL-8B (Qwen3-8B text stack: 36 layers, 8 KV heads × 128 → 144 KiB of BF16 KV cache per token): each decode step reads the weights plus every sequence\'s KV cache, at ~3,040 tokens of context per sequence on average (2,441 visual + half of 1,200 output); ideal tokens/s = sequences ÷ (bytes read ÷ memory bandwidth), times 0.65 steady-state efficiency. The 0.65 is anchored on a published vLLM run of Llama-3.1-8B (BF16) on an A40 (696 GB/s) at 50 concurrent requests, 1,016 output tokens/s, about 0.54 of this model\'s ideal including its ramp-down tail (databasemart.com/blog/vllm-gpu-benchmark-a40).';
const PREFILL_METHOD =
  'Compute-bound estimate: ~44 TFLOP for the language model over 2,441 visual tokens (2 × 8.2 B parameters × tokens, plus attention) and ~20–24 TFLOP for the 0.4–0.6 B-parameter vision encoder over ~9,800 16×16 patches (matmuls and full attention), at 40% of the GPU\'s dense tensor peak (FP8 for the language model where the GPU has it, BF16 for the encoder; NVIDIA datasheets).';

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
  readonly gpus: Readonly<Record<string, GpuThroughput>>;
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
    readonly ebsGp3PerGbMonth: Sourced;
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
    /** Aurora ACUs while the fleet works (the database resumes from 0 and serves claims and checkpoints). */
    readonly databaseAcuWhileWorking: Sourced;
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
const TEXTRACT_NOTE = 'The stored copies of the pricing page searched on the date checked name these APIs but did not render the price table; confirm on the live page.';
const S3 = 'https://aws.amazon.com/s3/pricing/ (S3 Standard, us-east-1)';
const CW = 'https://aws.amazon.com/cloudwatch/pricing/';

export const COST_ASSUMPTIONS: CostAssumptions = {
  region: 'us-east-1',
  hoursPerMonth: listed(730, 'AWS pricing convention (8,760 hours ÷ 12)'),
  instances: {
    'g5.xlarge': { onDemandPerHour: listed(1.006, EC2_ON_DEMAND), spotDiscount: spot },
    'g5.2xlarge': { onDemandPerHour: listed(1.212, EC2_ON_DEMAND), spotDiscount: spot },
    'g6.xlarge': { onDemandPerHour: listed(0.8048, EC2_ON_DEMAND), spotDiscount: spot },
    'g6.2xlarge': { onDemandPerHour: listed(0.9776, EC2_ON_DEMAND), spotDiscount: spot },
    'g6e.xlarge': { onDemandPerHour: listed(1.861, EC2_ON_DEMAND), spotDiscount: spot },
    'g6e.2xlarge': { onDemandPerHour: listed(2.24208, EC2_ON_DEMAND), spotDiscount: spot },
  },
  gpus: {
    'NVIDIA A10G': {
      decodeTokensPerSecond: estimated(
        100,
        'estimate; NVIDIA A10G: 600 GB/s, 24 GB, no FP8',
        `${DECODE_METHOD} A10G: BF16 weights (~17.5 GB with the vision encoder) leave ~2.3 GB of KV cache at 0.90 GPU memory, room for only ~5 pages at once, so the 32-page pool cannot fill the batch: ~160 ideal → ~100 tokens/s. A quantised checkpoint would change this.`,
      ),
      prefillTokensPerSecond: estimated(1800, 'estimate; NVIDIA A10 datasheet: 125 TFLOPS dense BF16 (the A10G is the same GA102 chip)', `${PREFILL_METHOD} All BF16: ~1.35 s a page.`),
    },
    'NVIDIA L4': {
      decodeTokensPerSecond: estimated(
        240,
        'estimate; NVIDIA L4 datasheet: 300 GB/s, 24 GB, FP8',
        `${DECODE_METHOD} L4: FP8 weights (~9.5 GB) leave ~10 GB of KV cache, ~22 pages at once; ~365 ideal → ~240 tokens/s.`,
      ),
      prefillTokensPerSecond: estimated(2500, 'estimate; NVIDIA L4 datasheet: 121 TFLOPS dense BF16, 242 FP8', `${PREFILL_METHOD} ~1 s a page (the L4 is power-limited at 72 W).`),
    },
    'NVIDIA L40S': {
      decodeTokensPerSecond: estimated(
        800,
        'estimate; NVIDIA L40S datasheet: 864 GB/s, 48 GB, FP8',
        `${DECODE_METHOD} L40S: FP8 weights leave room for all 32 pages; ~1,230 ideal → ~800 tokens/s. More pages in flight (untxt:maxPagesInFlight) would raise it, as the weights are read once per step for the whole batch.`,
      ),
      prefillTokensPerSecond: estimated(8000, 'estimate; NVIDIA L40S datasheet: 362 TFLOPS dense BF16, 733 FP8', `${PREFILL_METHOD} ~0.3 s a page.`),
    },
  },
  workload: {
    visualTokensPerPage: estimated(
      2441,
      'Qwen3-VL: one visual token per 32×32 pixels (Qwen3-VL cookbook; vLLM max_pixels); the worker bounds a page at 2,500,000 pixels (VLLM_MAX_PIXELS)',
      '2,500,000 ÷ 1,024 ≈ 2,441 tokens at the bound; smaller scans use fewer.',
    ),
    outputTokensPerPage: estimated(
      1200,
      'estimate for a dense page in the qwenvl html format',
      'A dense single-spaced page holds ~500–700 words (~800–1,000 text tokens); the HTML adds ~20–25 tokens of markup and data-bbox per block, 20–40 blocks a page, so ~1,000–1,500 tokens; 1,200 is taken. Sparse pages (letters, forms) produce far fewer, and cost proportionally less.',
    ),
    pagesInFlight: listed(32, 'untxt:maxPagesInFlight default (lib/config.ts), also vLLM --max-num-seqs'),
    utilisation: estimated(
      0.8,
      'estimate',
      'Share of a running instance\'s hours spent at full batch: the pool refills between pages, rasterization and uploads overlap imperfectly, and bursts end with partial batches. Excludes the 15-minute idle tail before scale-in and the model load at start (a few minutes per scale-out), which depend on how the work arrives.',
    ),
    pagesPerDocument: estimated(10, 'estimate', 'Used only to spread per-document requests (API calls, intake, events) over pages.'),
  },
  textract: {
    detectDocumentTextPer1000: listed(1.5, `${TEXTRACT} (DetectDocumentText, first 1 M pages a month, us-east-1)`, `$0.60 per 1,000 beyond 1 M pages a month. ${TEXTRACT_NOTE}`),
    analyzeTablesPer1000: listed(15, `${TEXTRACT} (AnalyzeDocument Tables, first 1 M pages a month)`, `About 10× DetectDocumentText, as third-party pricing guides also put it. ${TEXTRACT_NOTE}`),
    analyzeFormsPer1000: listed(50, `${TEXTRACT} (AnalyzeDocument Forms, first 1 M pages a month)`, TEXTRACT_NOTE),
    analyzeTablesAndFormsPer1000: listed(65, `${TEXTRACT} (AnalyzeDocument Tables + Forms, first 1 M pages a month)`, TEXTRACT_NOTE),
  },
  requestPrices: {
    apiGatewayPerMillion: listed(3.5, 'https://aws.amazon.com/api-gateway/pricing/ (REST API, first 333 M requests)'),
    wafPerMillionRequests: listed(0.6, 'https://aws.amazon.com/waf/pricing/'),
    lambdaPerMillionRequests: listed(0.2, LAMBDA),
    lambdaArmPerGbSecond: listed(0.0000133334, `${LAMBDA} (Arm, first 7.5 B GB-seconds)`),
    sqsPerMillion: listed(0.4, 'https://aws.amazon.com/sqs/pricing/ (standard queue, per 64 KB request)'),
    eventBridgePerMillionEvents: listed(1, 'https://aws.amazon.com/eventbridge/pricing/ (custom events)'),
    s3PutPerThousand: listed(0.005, S3),
    s3GetPerThousand: listed(0.0004, S3),
    s3StoragePerGbMonth: listed(0.023, S3),
    kmsPer10000Requests: listed(0.03, 'https://aws.amazon.com/kms/pricing/'),
    logsIngestionPerGb: listed(0.5, `${CW} (Logs standard ingestion)`),
    ebsGp3PerGbMonth: listed(0.08, 'https://aws.amazon.com/ebs/pricing/ (gp3)'),
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
    gpuRootVolumeGb: estimated(100, 'estimate', 'Room for the vLLM image and the model weights on the instance\'s gp3 root volume.'),
    databaseAcuWhileWorking: estimated(0.5, 'estimate', 'Claims, leases and page checkpoints are small writes; Aurora Serverless v2 at its 0.5 ACU floor once resumed.'),
  },
  idlePrices: {
    interfaceEndpointPerAzHour: listed(0.01, 'https://aws.amazon.com/privatelink/pricing/ (interface endpoint per AZ-hour)', 'Plus $0.01 per GB processed.'),
    kmsKeyPerMonth: listed(1, 'https://aws.amazon.com/kms/pricing/ (customer managed key)'),
    secretPerMonth: listed(0.4, 'https://aws.amazon.com/secrets-manager/pricing/'),
    wafWebAclPerMonth: listed(5, 'https://aws.amazon.com/waf/pricing/'),
    wafRulePerMonth: listed(1, 'https://aws.amazon.com/waf/pricing/', 'A managed rule group counts as one rule.'),
    alarmPerMonth: listed(0.1, `${CW} (standard-resolution metric alarm)`),
    compositeAlarmPerMonth: listed(0.5, CW),
    auroraAcuHour: listed(0.12, 'https://aws.amazon.com/rds/aurora/pricing/ (Serverless v2, Aurora Standard, us-east-1)'),
    auroraStoragePerGbMonth: listed(0.1, 'https://aws.amazon.com/rds/aurora/pricing/ (Aurora Standard storage)'),
    natGatewayPerHour: listed(0.045, 'https://aws.amazon.com/vpc/pricing/'),
    publicIpv4PerHour: listed(0.005, 'https://aws.amazon.com/vpc/pricing/ (public IPv4 address)'),
    ecrStoragePerGbMonth: listed(0.1, 'https://aws.amazon.com/ecr/pricing/'),
  },
  idleUsage: {
    auroraStorageGb: estimated(1, 'estimate', 'Users, tasks and audit rows of a small deployment; storage is billed even while the cluster is paused.'),
    containerImageGb: estimated(12, 'estimate', 'The vLLM OpenAI-server base image plus Node and the worker, compressed in ECR.'),
    modelWeightsGb: estimated(17.5, 'Qwen/Qwen3-VL-8B-Instruct safetensors (BF16) on Hugging Face', 'About 8.8 B parameters × 2 bytes.'),
    scheduledFunctionSeconds: estimated(1, 'estimate', 'Duration of one scheduled invocation (the scaler reads the queue and the service, then returns).'),
    idleLogGbPerMonth: estimated(0.2, 'estimate', 'Flow logs of idle endpoint traffic and the scheduled functions\' log lines.'),
    defaultAzCount: listed(2, 'lib/network.ts (two isolated subnets)'),
  },
};
