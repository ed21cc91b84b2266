/**
 * vLLM's context defaults, in a module of their own so that the entrypoint (which starts vLLM with
 * them) and the worker (which sizes its token caps from them) agree without either loading the
 * other's dependencies.
 */

/** `--max-model-len`: the tokens one request may hold, prompt and answer together. */
export const DEFAULT_VLLM_MAX_MODEL_LEN = 16_384;

/** `--gpu-memory-utilization`: vLLM's share of the GPU's memory (weights, KV cache, activations). */
export const DEFAULT_VLLM_GPU_MEMORY_UTILIZATION = 0.9;

/** Qwen3-VL gives one visual token per 32×32 pixels (16-pixel patches, merged 2×2). */
export const PIXELS_PER_IMAGE_TOKEN = 32 * 32;

/** Room for the chat template and the `qwenvl html` prompt around the image (a few dozen tokens in practice). */
const PROMPT_TOKEN_ALLOWANCE = 256;

/**
 * The most tokens a page's answer may take so that the request still fits vLLM's context: the
 * context, less the largest page image's tokens, less the prompt. A cap above it makes vLLM refuse
 * every request (400, context length), and every page would quietly fall back.
 */
export function answerTokenCeiling(maxModelLen: number, maxPixels: number): number {
  return maxModelLen - Math.ceil(maxPixels / PIXELS_PER_IMAGE_TOKEN) - PROMPT_TOKEN_ALLOWANCE;
}
