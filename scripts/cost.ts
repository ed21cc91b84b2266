/**
 * `npm run cost`: the idle monthly cost of the synthesized stack and the cost per million pages of
 * every GPU option, On-Demand and Spot, beside Amazon Textract. The numbers come from
 * scripts/cost-model.ts on the assumptions in scripts/cost-assumptions.ts.
 *
 *   npm run cost                                   synthesize the app (default config) and print
 *   npm run cost -- --template cdk.out/Untxt.template.json
 *   npm run cost -- --price g6e.xlarge=1.861/0.80  your On-Demand[/Spot] $ an hour for a type
 *   npm run cost -- --json                         machine output
 *   npm run cost -- --readme                       rewrite the README's generated cost blocks
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GPU_INSTANCE_TYPES } from '../lib/gpu-instances';
import { COST_ASSUMPTIONS, type CostAssumptions, type Sourced } from './cost-assumptions';
import { costReport, parsePriceOverride, withPriceOverrides, type CfnTemplate, type CostReport, type GpuOptionCost, type PriceOverride } from './cost-model';

const REPO_ROOT = path.join(__dirname, '..');
const README = path.join(REPO_ROOT, 'README.md');

/** Builds the app as bin/untxt.ts does (cdk.json's feature flags, default settings), without bundling or cdk-nag, and returns its template. */
export function synthesizeTemplate(): CfnTemplate {
  // Loaded here so `--template` and the pure tests never pay for the CDK.
  const { App } = require('aws-cdk-lib') as typeof import('aws-cdk-lib');
  const { loadConfig } = require('../lib/config') as typeof import('../lib/config');
  const { UntxtStack } = require('../lib/untxt-stack') as typeof import('../lib/untxt-stack');
  const cdkJson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  const outdir = mkdtempSync(path.join(tmpdir(), 'untxt-cost-'));
  try {
    const app = new App({ outdir, context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] } });
    const stack = new UntxtStack(app, 'Untxt', { config: loadConfig(app) });
    return app.synth().getStackArtifact(stack.artifactId).template as CfnTemplate;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering (Markdown, which reads well in a terminal too)

const dollars = (n: number, digits = 2): string =>
  `$${n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })}`;
const whole = (n: number): string => Math.round(n).toLocaleString('en-US');
/** Small unit prices keep their significant digits ($0.023, $0.000004). */
const unitPrice = (n: number): string => dollars(n, n === 0 || n >= 1 ? 2 : n >= 0.01 ? 3 : 6);
const quantity = (n: number): string => (Number.isInteger(n) ? whole(n) : n.toLocaleString('en-US', { maximumFractionDigits: 2 }));

export function renderOptionsTable(options: readonly GpuOptionCost[], report: CostReport): string {
  const rows = options.map(
    (o) =>
      `| \`${o.instanceType}\` | ${o.gpu} | ${o.capacity} | ${dollars(o.pricePerHour, 3)} | ${o.pagesAtOnce} | ${whole(o.pagesPerHour)} | ${dollars(o.gpuPer1M, 0)} | ${dollars(o.otherPer1M, 0)} | **${dollars(o.totalPer1M, 0)}** | ${o.textractRatio.toFixed(2)}× |`,
  );
  return [
    '| instance | GPU | capacity | $/hour | pages at once | pages/hour | GPU $/1M pages | other $/1M pages | total $/1M pages | vs Textract |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    `| Amazon Textract | DetectDocumentText | | | | | | | **${dollars(report.textractPer1M.detectDocumentText, 0)}** | 1.00× |`,
  ].join('\n');
}

function textractLine(report: CostReport): string {
  const t = report.textractPer1M;
  return `Amazon Textract AnalyzeDocument, for comparison: tables ${dollars(t.tables, 0)}, forms ${dollars(t.forms, 0)}, tables + forms ${dollars(t.tablesAndForms, 0)} per 1M pages (first million a month).`;
}

/** The per-million-page tables: the default model's weights, then an FP8 checkpoint where the default is BF16. */
function renderOptionTables(report: CostReport, a: CostAssumptions): string {
  const main = report.options[0]?.weights ?? 'BF16';
  const parts = [`With \`${a.model.id}\` (${main} weights, the default \`untxt:modelId\`):`, '', renderOptionsTable(report.options, report)];
  if (report.fp8Options.length > 0) {
    parts.push('', 'With an FP8 checkpoint of the same model (an `untxt:modelId` naming FP8 weights; the vision encoder stays BF16):', '', renderOptionsTable(report.fp8Options, report));
  }
  parts.push('', textractLine(report));
  return parts.join('\n');
}

export function renderPerPageTable(report: CostReport): string {
  const total = report.perPage.reduce((sum, i) => sum + i.per1M, 0);
  return [
    '| per-request cost (any GPU option) | $/1M pages |',
    '| --- | ---: |',
    ...report.perPage.map((i) => `| ${i.what} | ${dollars(i.per1M)} |`),
    `| **total** | **${dollars(total)}** |`,
  ].join('\n');
}

export function renderIdleTable(report: CostReport): string {
  return [
    '| idle item (from the synthesized template) | quantity | unit | $/unit-month | $/month |',
    '| --- | ---: | --- | ---: | ---: |',
    ...report.idle.items.map((i) => `| ${i.what} | ${quantity(i.quantity)} | ${i.unit} | ${unitPrice(i.unitPrice)} | ${dollars(i.monthly)} |`),
    `| **idle total** | | | | **${dollars(report.idle.monthly)}** |`,
  ].join('\n');
}

/** Every assumption as `group.name`, flattened, so the README lists each beside its source. */
export function flattenAssumptions(a: CostAssumptions): { readonly name: string; readonly figure: Sourced }[] {
  const out: { name: string; figure: Sourced }[] = [];
  const walk = (value: unknown, name: string): void => {
    if (typeof value !== 'object' || value === null) return;
    if ('value' in value && 'source' in value) {
      out.push({ name, figure: value as Sourced });
      return;
    }
    for (const [key, child] of Object.entries(value)) walk(child, name ? `${name}.${key}` : key);
  };
  walk(a, '');
  return out;
}

const cell = (text: string): string => text.replace(/\|/g, '\\|');

export function renderAssumptionsTable(a: CostAssumptions): string {
  const rows = flattenAssumptions(a).map(({ name, figure }) => {
    const kind = figure.estimate ? 'estimate' : 'published';
    const how = figure.note ? ` — ${figure.note}` : '';
    return `| \`${name}\` | ${figure.value} | ${kind} | ${cell(figure.source)}${cell(how)} | ${figure.checked} |`;
  });
  return ['| assumption | value | kind | source | checked |', '| --- | ---: | --- | --- | --- |', ...rows].join('\n');
}

/** The README block that depends only on the assumptions. */
export function renderPerPageSection(report: CostReport, a: CostAssumptions): string {
  return [
    `Region ${a.region}. Dense pages: ${whole(a.workload.visualTokensPerPage.value)} visual tokens in, ${whole(a.workload.outputTokensPerPage.value)} tokens out. Up to ${a.workload.pagesInFlight.value} pages in flight ("pages at once" is fewer where the KV cache runs out). ${Math.round(a.workload.utilisation.value * 100)}% utilisation. Throughput is derived from datasheets and the model's shape, not measured; the assumptions below say how.`,
    '',
    renderOptionTables(report, a),
    '',
    '"other" = the instance\'s root volume and the database while the fleet works, plus these per-request costs:',
    '',
    renderPerPageTable(report),
    '',
    '<details><summary>Every assumption, its source and the date it was checked</summary>',
    '',
    renderAssumptionsTable(a),
    '',
    '</details>',
  ].join('\n');
}

export function renderIdleSection(report: CostReport): string {
  return renderIdleTable(report);
}

export function renderReport(report: CostReport, a: CostAssumptions): string {
  return [
    `# untxt cost model (${a.region})`,
    '',
    '## Idle: what the deployed stack costs a month with no documents',
    '',
    renderIdleTable(report),
    '',
    '## Per million pages',
    '',
    renderOptionTables(report, a),
    '',
    renderPerPageTable(report),
    '',
    'Throughput figures are estimates (scripts/cost-assumptions.ts says how each was derived); Spot prices are volatile.',
  ].join('\n');
}

/** Replaces the text between `<!-- name:start -->` and `<!-- name:end -->`. */
export function replaceBlock(document: string, name: string, body: string): string {
  const pattern = blockPattern(name);
  if (!pattern.test(document)) throw new Error(`README.md has no <!-- ${name}:start --> … <!-- ${name}:end --> block`);
  return document.replace(pattern, () => `<!-- ${name}:start -->\n${body}\n<!-- ${name}:end -->`);
}

/** A generated block's body in a document, or undefined when its markers are missing. */
export function readBlock(document: string, name: string): string | undefined {
  return blockPattern(name).exec(document)?.[1];
}

function blockPattern(name: string): RegExp {
  return new RegExp(`<!-- ${name}:start -->\\n([\\s\\S]*?)\\n?<!-- ${name}:end -->`);
}

// ---------------------------------------------------------------------------------------------
// Command line

const USAGE = `usage: npm run cost -- [--template <file>] [--price <type>=<On-Demand $/h>[/<Spot $/h>]]... [--json | --readme]
  --template  price this CloudFormation template (e.g. cdk.out/Untxt.template.json) instead of synthesizing the app
  --price     your hourly price for a GPU instance type, e.g. g6e.xlarge=1.861/0.80 (repeatable)
  --json      the report and every assumption as JSON
  --readme    rewrite the README's generated cost blocks (default assumptions and app only)`;

interface Options {
  readonly template?: string;
  readonly prices: ReadonlyMap<string, PriceOverride>;
  readonly json: boolean;
  readonly readme: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  let template: string | undefined;
  const prices = new Map<string, PriceOverride>();
  let json = false;
  let readme = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === '--template') template = value();
    else if (arg === '--price') prices.set(...parsePriceOverride(value()));
    else if (arg === '--json') json = true;
    else if (arg === '--readme') readme = true;
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}\n${USAGE}`);
  }
  if (readme && (template !== undefined || prices.size > 0)) throw new Error('--readme documents the default assumptions and the synthesized app; drop --template and --price');
  return { template, prices, json, readme };
}

function main(): void {
  const options = parseArgs(process.argv.slice(2));
  const assumptions = withPriceOverrides(COST_ASSUMPTIONS, options.prices);
  const template = options.template ? (JSON.parse(readFileSync(options.template, 'utf8')) as CfnTemplate) : synthesizeTemplate();
  const report = costReport(template, GPU_INSTANCE_TYPES, assumptions);
  if (options.readme) {
    let readme = readFileSync(README, 'utf8');
    readme = replaceBlock(readme, 'cost-per-page', renderPerPageSection(report, assumptions));
    readme = replaceBlock(readme, 'cost-idle', renderIdleSection(report));
    writeFileSync(README, readme);
    console.log('README.md cost blocks rewritten');
    return;
  }
  console.log(options.json ? JSON.stringify({ report, assumptions }, null, 2) : renderReport(report, assumptions));
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
