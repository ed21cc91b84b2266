import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ConfigError, parseConfig } from '../../lib/config';
import { ecsAgentSettings, rootVolumeGiB } from '../../lib/gpu-capacity';
import { modelFit } from '../../lib/gpu-sizing';

function thrownMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected an error');
}

describe('the GPU settings', () => {
  it.each([
    ['an instance type outside the catalogue', { 'untxt:gpuInstanceType': 'p5.48xlarge' }, 'untxt:gpuInstanceType: must be one of'],
    ['a capacity type other than on-demand or spot', { 'untxt:gpuCapacity': 'reserved' }, 'untxt:gpuCapacity: must be one of on-demand, spot'],
    ['a manifest hash that is not a SHA-256', { 'untxt:modelManifestSha256': 'abc' }, 'untxt:modelManifestSha256: must be 64 hexadecimal digits'],
    ['a model id without an organisation', { 'untxt:modelId': 'qwen3-vl' }, 'untxt:modelId: must be a model id'],
    ['no GPU instance at all', { 'untxt:gpuMaxInstances': '0' }, 'untxt:gpuMaxInstances: must be at least 1'],
    ['a 32B model in BF16 on a 48 GiB GPU', { 'untxt:modelId': 'Qwen/Qwen3-VL-32B-Instruct' }, 'too little to start'],
  ])('refuse %s', (_name, context, message) => {
    // Act
    const problem = thrownMessage(() => parseConfig(context));

    // Assess
    expect(problem).toContain(message);
  });

  it('accept a 32B model in FP8 on a 48 GiB GPU', () => {
    // Act
    const config = parseConfig({ 'untxt:modelId': 'Qwen/Qwen3-VL-32B-Instruct-FP8' });

    // Assess
    expect(config.modelId).toBe('Qwen/Qwen3-VL-32B-Instruct-FP8');
  });
});

describe('the model sizing', () => {
  it.each([
    ['Qwen/Qwen3-VL-8B-Instruct', 'g6e.xlarge', 'ok'],
    ['Qwen/Qwen3-VL-8B-Instruct', 'g6.xlarge', 'warn'],
    ['Qwen/Qwen3-VL-8B-Instruct', 'g5.xlarge', 'warn'],
    ['Qwen/Qwen3-VL-8B-Instruct-FP8', 'g6.xlarge', 'ok'],
    ['Qwen/Qwen3-VL-4B-Instruct', 'g5.xlarge', 'ok'],
    ['Qwen/Qwen3-VL-32B-Instruct', 'g6e.xlarge', 'refuse'],
    ['Qwen/Qwen3-VL-32B-Instruct-FP8', 'g6e.xlarge', 'ok'],
    ['Qwen/Qwen3-VL-32B-Instruct-FP8', 'g6.xlarge', 'refuse'],
    ['Qwen/Qwen3-VL-30B-A3B-Instruct', 'g6e.xlarge', 'refuse'],
    ['Qwen/Qwen3-VL-30B-A3B-Instruct-FP8', 'g6e.xlarge', 'ok'],
    ['someone/ocr-model', 'g6e.xlarge', 'unknown'],
  ])('judges %s on %s: %s', (modelId, instanceType, verdict) => {
    // Act
    const fit = modelFit(modelId, instanceType);

    // Assess
    expect(fit.verdict).toBe(verdict);
  });

  it('sizes the root volume for the image and the weights twice, at least 100 GiB', () => {
    // Assess
    expect(rootVolumeGiB(0)).toBe(100);
    expect(rootVolumeGiB(16.4)).toBe(100);
    expect(rootVolumeGiB(70)).toBe(190);
  });
});

describe('the ECS agent settings', () => {
  it('drain on a Spot interruption only on Spot', () => {
    // Act
    const spot = ecsAgentSettings('spot').join('\n');
    const onDemand = ecsAgentSettings('on-demand').join('\n');

    // Assess
    expect(spot).toContain('ECS_ENABLE_SPOT_INSTANCE_DRAINING=true');
    expect(onDemand).not.toContain('ECS_ENABLE_SPOT_INSTANCE_DRAINING');
    expect(onDemand).toContain('ECS_CONTAINER_STOP_TIMEOUT=120s');
  });

  it('hand the weights folder to the user the image runs as', () => {
    // Prepare
    const dockerfile = readFileSync(path.join(__dirname, '..', '..', 'inference-container', 'Dockerfile'), 'utf8');
    const imageUser = /^USER (\d+):(\d+)$/m.exec(dockerfile);

    // Act
    const commands = ecsAgentSettings('on-demand');

    // Assess
    expect(imageUser).not.toBeNull();
    expect(commands).toContain(`chown ${imageUser![1]}:${imageUser![2]} /opt/untxt/models`);
  });
});
