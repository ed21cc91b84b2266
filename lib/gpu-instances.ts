/**
 * The GPU instance types the worker fleet can run on, with the hardware facts that size the
 * container (GPU memory decides which model fits; vCPUs and memory bound the task definition).
 * Prices are not kept here: they change, and the cost model states its own (scripts/cost-assumptions.ts).
 */
export interface GpuInstanceType {
  /** EC2 instance type, e.g. `g6e.xlarge`. */
  readonly instanceType: string;
  /** GPU model, e.g. `NVIDIA L40S`. */
  readonly gpu: string;
  readonly gpuCount: number;
  /** Memory of one GPU in GiB. */
  readonly gpuMemoryGiB: number;
  /** Whether the GPU computes in FP8 natively (Ada, Hopper): FP8 weights halve the memory a model needs. */
  readonly fp8: boolean;
  readonly vcpus: number;
  readonly memoryGiB: number;
}

export const GPU_INSTANCE_TYPES = [
  { instanceType: 'g5.xlarge', gpu: 'NVIDIA A10G', gpuCount: 1, gpuMemoryGiB: 24, fp8: false, vcpus: 4, memoryGiB: 16 },
  { instanceType: 'g5.2xlarge', gpu: 'NVIDIA A10G', gpuCount: 1, gpuMemoryGiB: 24, fp8: false, vcpus: 8, memoryGiB: 32 },
  { instanceType: 'g6.xlarge', gpu: 'NVIDIA L4', gpuCount: 1, gpuMemoryGiB: 24, fp8: true, vcpus: 4, memoryGiB: 16 },
  { instanceType: 'g6.2xlarge', gpu: 'NVIDIA L4', gpuCount: 1, gpuMemoryGiB: 24, fp8: true, vcpus: 8, memoryGiB: 32 },
  { instanceType: 'g6e.xlarge', gpu: 'NVIDIA L40S', gpuCount: 1, gpuMemoryGiB: 48, fp8: true, vcpus: 4, memoryGiB: 32 },
  { instanceType: 'g6e.2xlarge', gpu: 'NVIDIA L40S', gpuCount: 1, gpuMemoryGiB: 48, fp8: true, vcpus: 8, memoryGiB: 64 },
] as const satisfies readonly GpuInstanceType[];

export type GpuInstanceTypeName = (typeof GPU_INSTANCE_TYPES)[number]['instanceType'];

export function gpuInstanceType(name: string): GpuInstanceType | undefined {
  return GPU_INSTANCE_TYPES.find((t) => t.instanceType === name);
}
