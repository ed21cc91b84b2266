/**
 * The command line, parsed with node:util parseArgs into one typed invocation. Pure: no I/O, so
 * every rule here is unit-tested.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { LISTABLE_STATUSES, type ListableStatus } from '../src/domain/upload-types';
import { CliError, EXIT } from './exit-codes';

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:8080';
export const RESULT_FORMATS = ['html', 'text', 'json'] as const;
export type ResultFormat = (typeof RESULT_FORMATS)[number];

export type Command =
  | { name: 'login' | 'register'; email?: string; passwordStdin: boolean }
  | { name: 'ocr'; files: string[]; format: ResultFormat; out: string }
  | { name: 'tasks'; status?: ListableStatus; limit?: number }
  | { name: 'result'; id: string; format: ResultFormat; out?: string }
  | { name: 'delete'; id: string }
  | { name: 'logout' }
  | { name: 'help'; topic?: string }
  | { name: 'version' };

export interface Invocation {
  command: Command;
  /** Base URL of the service, without a trailing slash or `/v1`. */
  endpoint: string;
  json: boolean;
}

const OPTIONS = {
  endpoint: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  email: { type: 'string' },
  'password-stdin': { type: 'boolean' },
  format: { type: 'string', short: 'f' },
  out: { type: 'string', short: 'o' },
  status: { type: 'string' },
  limit: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

type OptionName = keyof typeof OPTIONS;
const GLOBAL: OptionName[] = ['endpoint', 'json', 'help', 'version'];

/** The options each command accepts besides the global ones. */
const COMMAND_OPTIONS: Record<Exclude<Command['name'], 'help' | 'version'>, OptionName[]> = {
  login: ['email', 'password-stdin'],
  register: ['email', 'password-stdin'],
  ocr: ['format', 'out'],
  tasks: ['status', 'limit'],
  result: ['format', 'out'],
  delete: [],
  logout: [],
};

const usage = (message: string): CliError => new CliError(`${message} (see untxt --help)`, EXIT.usage, 'usage');

export function parseInvocation(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Invocation {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs' messages name the option and say what is wrong with it.
    throw usage(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  const endpoint = normalizeEndpoint(values.endpoint ?? env.UNTXT_ENDPOINT ?? DEFAULT_ENDPOINT);
  const json = values.json === true;
  const [name, ...rest] = positionals;

  if (values.version) return { command: { name: 'version' }, endpoint, json };
  if (name === 'help') return { command: { name: 'help', ...(rest[0] ? { topic: rest[0] } : {}) }, endpoint, json };
  if (values.help || name === undefined) return { command: { name: 'help', ...(name ? { topic: name } : {}) }, endpoint, json };
  if (!isCommandName(name)) throw usage(`unknown command "${name}"`);

  const allowed = new Set<string>([...GLOBAL, ...COMMAND_OPTIONS[name]]);
  const stray = Object.keys(values).filter((option) => !allowed.has(option));
  if (stray.length > 0) throw usage(`${name} does not take --${stray[0]}`);

  return { command: buildCommand(name, rest, values), endpoint, json };
}

function buildCommand(name: keyof typeof COMMAND_OPTIONS, args: string[], values: Partial<Record<OptionName, string | boolean>>): Command {
  const str = (option: OptionName): string | undefined => values[option] as string | undefined;
  const noArguments = (): void => {
    if (args.length > 0) throw usage(`${name} takes no arguments, got "${args[0]}"`);
  };
  const oneId = (): string => {
    if (args.length !== 1) throw usage(`${name} takes one task id`);
    return args[0]!;
  };
  switch (name) {
    case 'login':
    case 'register':
      noArguments();
      return { name, passwordStdin: values['password-stdin'] === true, ...(str('email') !== undefined ? { email: str('email')! } : {}) };
    case 'ocr':
      if (args.length === 0) throw usage('ocr needs at least one file');
      return { name, files: args, format: format(str('format') ?? 'html'), out: str('out') ?? '.' };
    case 'tasks': {
      noArguments();
      const status = str('status');
      if (status !== undefined && !(LISTABLE_STATUSES as readonly string[]).includes(status)) {
        throw usage(`--status must be one of ${LISTABLE_STATUSES.join(', ')}`);
      }
      const limit = str('limit');
      if (limit !== undefined && !/^[1-9][0-9]{0,2}$/.test(limit)) throw usage('--limit must be a whole number from 1 to 100');
      if (limit !== undefined && Number(limit) > 100) throw usage('--limit must be a whole number from 1 to 100');
      return {
        name,
        ...(status !== undefined ? { status: status as ListableStatus } : {}),
        ...(limit !== undefined ? { limit: Number(limit) } : {}),
      };
    }
    case 'result':
      return { name, id: oneId(), format: format(str('format') ?? 'text'), ...(str('out') !== undefined ? { out: str('out')! } : {}) };
    case 'delete':
      return { name, id: oneId() };
    case 'logout':
      noArguments();
      return { name };
  }
}

function isCommandName(name: string): name is keyof typeof COMMAND_OPTIONS {
  return Object.hasOwn(COMMAND_OPTIONS, name);
}

function format(value: string): ResultFormat {
  if (!(RESULT_FORMATS as readonly string[]).includes(value)) throw usage(`--format must be one of ${RESULT_FORMATS.join(', ')}`);
  return value as ResultFormat;
}

/**
 * One spelling per service, so credentials are found again: no trailing slash and no `/v1`
 * (a stack's API URL or a copied route base both work).
 */
export function normalizeEndpoint(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw usage(`--endpoint must be an http(s) URL, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw usage(`--endpoint must be an http(s) URL, got "${raw}"`);
  if (url.search || url.hash || url.username || url.password) throw usage('--endpoint must not carry a query, fragment or credentials');
  const path = url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
  return `${url.origin}${path}`;
}

export const HELP = `untxt: OCR scanned documents with an untxt service

Usage:
  untxt register [--email E] [--password-stdin]   create an account and log in
  untxt login    [--email E] [--password-stdin]   log in (prompts on a terminal)
  untxt ocr <files...> [--format html|text|json] [--out DIR]
                                                  upload, follow progress, save results as DIR/<name>.<ext>
  untxt tasks    [--status S] [--limit N]         list your tasks, newest first
  untxt result <id> [--format html|text|json] [--out PATH]
                                                  print a result (text by default) or save it
  untxt delete <id>                               erase a task, its document and results
  untxt logout                                    end the session and forget its tokens

Options for every command:
  --endpoint URL   the service (default $UNTXT_ENDPOINT or ${DEFAULT_ENDPOINT}); a stack's ApiUrl works
  --json           machine-readable output on stdout (errors as {"error": {...}} on stderr)
  -h, --help       this help

Tokens are kept per endpoint in \${XDG_CONFIG_HOME:-~/.config}/untxt/credentials.json (mode 0600)
and refreshed when they expire.`;

/**
 * `untxt help <command>` and `untxt <command> --help`: that command's lines of HELP and the
 * options every command takes; the whole of HELP for no command or one it does not list.
 */
export function helpText(topic?: string): string {
  const lines = HELP.split('\n');
  const start = topic === undefined ? -1 : lines.findIndex((line) => line === `  untxt ${topic}` || line.startsWith(`  untxt ${topic} `));
  if (start < 0) return HELP;
  let end = start + 1;
  // A command's description may continue on further, deeper-indented lines.
  while (end < lines.length && /^ {3,}\S/.test(lines[end]!)) end++;
  return ['Usage:', ...lines.slice(start, end), '', HELP.slice(HELP.indexOf('Options for every command:'))].join('\n');
}
