import { DEFAULT_VLLM_GPU_MEMORY_UTILIZATION } from '../inference-container/src/vllm-limits';
import { gpuInstanceType } from './gpu-instances';

/**
 * Below this much GPU memory left for the KV cache (after weights, inside vLLM's share), only a
 * few pages fit in flight at the context length pages need: it runs, but slowly.
 */
const WARN_KV_CACHE_GIB = 6;
/** Below this vLLM cannot hold one page's context (16,384 tokens) and fails at start. */
const REFUSE_KV_CACHE_GIB = 2;
/** The vision encoder, embeddings and runtime buffers on top of the nominal parameter count. */
const OVERHEAD = 1.1;
const GIB = 1024 ** 3;

export interface ModelFit {
  /** ok: fits; warn: runs, but slowly or with little room; refuse: cannot start; unknown: size not in the id. */
  readonly verdict: 'ok' | 'warn' | 'refuse' | 'unknown';
  readonly message: string;
  /** Estimated GiB of weights on the GPU, when the id names a size. */
  readonly weightsGiB?: number;
}

export type Precision = 'FP8' | '4-bit' | 'BF16';

/** The weights' precision from the id's quantisation marker: FP8, 4-bit (AWQ/GPTQ/INT4) or BF16. */
export function precisionOf(modelId: string): Precision {
  if (/fp8/i.test(modelId)) return 'FP8';
  if (/awq|gptq|int4|4bit/i.test(modelId)) return '4-bit';
  return 'BF16';
}

const BYTES_PER_PARAMETER: Record<Precision, number> = { FP8: 1, '4-bit': 0.5, BF16: 2 };

/** Total parameters in billions from an id such as `Qwen3-VL-30B-A3B-Instruct` (30; A3B is the active share). */
function billionsOfParameters(modelId: string): number | undefined {
  const match = /(?:^|[-_/])(\d+(?:\.\d+)?)B(?=$|[-_.])/i.exec(modelId);
  return match ? Number(match[1]) : undefined;
}

/**
 * Whether a model fits the GPU of an instance type, estimated from the size and precision the
 * model id names. 32B needs FP8 on a 48 GiB GPU; 8B in BF16 on a 24 GiB GPU is only warned
 * about: it loads (about 16 GiB of weights) but leaves about 5 GiB of KV cache, a handful of
 * pages in flight. A size that cannot load at all is refused, at synth, rather than discovered
 * after the first GPU instance has started.
 */
export function modelFit(modelId: string, instanceTypeName: string): ModelFit {
  const instance = gpuInstanceType(instanceTypeName);
  if (!instance) return { verdict: 'refuse', message: `unknown GPU instance type ${instanceTypeName}` };
  const billions = billionsOfParameters(modelId);
  if (billions === undefined) {
    return {
      verdict: 'unknown',
      message: `the size of ${modelId} is not in its id; check that its weights fit ${instance.gpuMemoryGiB} GiB (${instance.gpu}, ${instanceTypeName}) with room for the KV cache (inference-container/README.md)`,
    };
  }
  const precision = precisionOf(modelId);
  const bytes = BYTES_PER_PARAMETER[precision];
  const weightsGiB = (billions * 1e9 * bytes * OVERHEAD) / GIB;
  const kvCacheGiB = instance.gpuMemoryGiB * DEFAULT_VLLM_GPU_MEMORY_UTILIZATION - weightsGiB;
  const sizing = `${modelId} (${billions}B, ${precision}, about ${weightsGiB.toFixed(1)} GiB of weights) on ${instanceTypeName} (${instance.gpu}, ${instance.gpuMemoryGiB} GiB) leaves about ${kvCacheGiB.toFixed(1)} GiB for the KV cache`;
  if (kvCacheGiB < REFUSE_KV_CACHE_GIB) {
    return { verdict: 'refuse', weightsGiB, message: `${sizing}: too little to start; choose a larger GPU or an FP8 variant` };
  }
  if (kvCacheGiB < WARN_KV_CACHE_GIB) {
    return { verdict: 'warn', weightsGiB, message: `${sizing}: only a few pages fit in flight; a 48 GiB GPU (g6e) or an FP8 variant is faster` };
  }
  if (precision === 'FP8' && !instance.fp8) {
    return { verdict: 'warn', weightsGiB, message: `${sizing}; ${instance.gpu} has no native FP8, so vLLM runs the weights through slower weight-only kernels` };
  }
  return { verdict: 'ok', weightsGiB, message: sizing };
}
