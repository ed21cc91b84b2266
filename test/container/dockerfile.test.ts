import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// No Docker engine runs these tests; they hold the Dockerfile to the contract it shares with the
// CDK asset (build context = repository root with only these paths) and with ECS.
const DOCKERFILE = readFileSync(join(__dirname, '..', '..', 'inference-container', 'Dockerfile'), 'utf8');
const ASSET_PATHS = ['package.json', 'package-lock.json', 'tsconfig.json', 'src', 'lambdas', 'inference-container'];

/** Instructions with their continuation lines joined and comments dropped. */
function instructions(): string[] {
  return DOCKERFILE.split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

describe('the GPU worker Dockerfile', () => {
  it('pins both base images by tag and digest', () => {
    // Act
    const args = Object.fromEntries(instructions().filter((i) => i.startsWith('ARG ')).map((i) => i.slice(4).split('=') as [string, string]));

    // Assess
    expect(args.NODE_IMAGE).toMatch(/^node:22-bookworm-slim@sha256:[0-9a-f]{64}$/);
    expect(args.VLLM_IMAGE).toMatch(/^vllm\/vllm-openai:v0\.(1[1-9]|[2-9]\d)\.\d+@sha256:[0-9a-f]{64}$/);
  });

  it('copies from the build context only paths the CDK asset carries', () => {
    // Act
    const sources = instructions()
      .filter((i) => i.startsWith('COPY ') && !i.includes('--from='))
      .flatMap((i) => i.split(/\s+/).slice(1, -1));

    // Assess
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(ASSET_PATHS).toContain(source.replace(/\/$/, ''));
  });

  it('runs the entrypoint bundle as a non-root user with the Qwen engine selected and no weights inside', () => {
    // Act
    const all = instructions();
    const final = all.slice(all.map((i) => i.startsWith('FROM ')).lastIndexOf(true));

    // Assess
    expect(final[0]).toMatch(/^FROM --platform=linux\/amd64 \$\{VLLM_IMAGE\}$/);
    expect(final).toContain('ENTRYPOINT ["node", "/opt/untxt/entrypoint.js"]');
    expect(final.find((i) => i.startsWith('USER '))).toBe('USER 10001:10001');
    expect(final.find((i) => i.startsWith('ENV '))).toMatch(/OCR_ENGINE=qwen-vllm/);
    expect(DOCKERFILE).not.toMatch(/safetensors|huggingface-cli|hf download/);
  });

  it('gives Node the RDS certificate authorities, so the worker can verify Aurora over TLS', () => {
    // Act
    const all = instructions();
    const final = all.slice(all.map((i) => i.startsWith('FROM ')).lastIndexOf(true));
    const bundle = final.find((i) => i.startsWith('ADD ') && i.includes('truststore.pki.rds.amazonaws.com'));
    const target = bundle?.split(/\s+/).at(-1);

    // Assess
    expect(target).toBeDefined();
    expect(final.find((i) => i.startsWith('ENV '))).toContain(`NODE_EXTRA_CA_CERTS=${target}`);
  });
});
