import { DEFAULT_ENDPOINT, normalizeEndpoint, parseInvocation } from '../../cli/args';
import { CliError, EXIT } from '../../cli/exit-codes';

const parse = (argv: string[], env: Record<string, string> = {}) => parseInvocation(argv, env);

function usageError(argv: string[]): CliError {
  try {
    parse(argv);
  } catch (error) {
    if (error instanceof CliError) return error;
    throw error;
  }
  throw new Error('parsed without an error');
}

describe('the untxt command line', () => {
  it('parses ocr with its files, format and output folder, with global options before or after the command', () => {
    // Act
    const before = parse(['--endpoint', 'https://api.example.com/prod/', '--json', 'ocr', 'a.pdf', 'b.png', '--format', 'json', '--out', 'results']);
    const after = parse(['ocr', 'a.pdf', '-f', 'text', '-o', 'r', '--endpoint', 'http://localhost:9000']);

    // Assess
    expect(before).toEqual({
      command: { name: 'ocr', files: ['a.pdf', 'b.png'], format: 'json', out: 'results' },
      endpoint: 'https://api.example.com/prod',
      json: true,
    });
    expect(after.command).toEqual({ name: 'ocr', files: ['a.pdf'], format: 'text', out: 'r' });
    expect(after.endpoint).toBe('http://localhost:9000');
  });

  it('defaults ocr to html into the current folder and result to text on stdout', () => {
    // Act
    const ocr = parse(['ocr', 'scan.tif']);
    const result = parse(['result', 'some-id']);

    // Assess
    expect(ocr.command).toEqual({ name: 'ocr', files: ['scan.tif'], format: 'html', out: '.' });
    expect(result.command).toEqual({ name: 'result', id: 'some-id', format: 'text' });
  });

  it('takes the endpoint from --endpoint, then UNTXT_ENDPOINT, then the local default', () => {
    // Act
    const flag = parse(['tasks', '--endpoint', 'http://a.example'], { UNTXT_ENDPOINT: 'http://b.example' });
    const env = parse(['tasks'], { UNTXT_ENDPOINT: 'http://b.example/v1/' });
    const none = parse(['tasks']);

    // Assess
    expect([flag.endpoint, env.endpoint, none.endpoint]).toEqual(['http://a.example', 'http://b.example', DEFAULT_ENDPOINT]);
  });

  it('spells an endpoint one way so its stored tokens are found again', () => {
    // Assess
    expect(normalizeEndpoint('https://x.execute-api.eu-west-1.amazonaws.com/prod/v1/')).toBe('https://x.execute-api.eu-west-1.amazonaws.com/prod');
    expect(normalizeEndpoint('HTTP://LOCALHOST:8080//')).toBe('http://localhost:8080');
  });

  it('parses login, tasks filters, delete and logout', () => {
    // Assess
    expect(parse(['login', '--email', 'a@example.com', '--password-stdin']).command).toEqual({ name: 'login', email: 'a@example.com', passwordStdin: true });
    expect(parse(['register']).command).toEqual({ name: 'register', passwordStdin: false });
    expect(parse(['tasks', '--status', 'failed', '--limit', '5']).command).toEqual({ name: 'tasks', status: 'failed', limit: 5 });
    expect(parse(['delete', 'abc']).command).toEqual({ name: 'delete', id: 'abc' });
    expect(parse(['logout']).command).toEqual({ name: 'logout' });
  });

  it('shows help without a command, with --help, and for help <command>', () => {
    // Assess
    expect(parse([]).command).toEqual({ name: 'help' });
    expect(parse(['ocr', '--help']).command).toEqual({ name: 'help', topic: 'ocr' });
    expect(parse(['help', 'tasks']).command).toEqual({ name: 'help', topic: 'tasks' });
  });

  it.each([
    [['bogus'], 'unknown command "bogus"'],
    [['tasks', '--format', 'text'], 'tasks does not take --format'],
    [['ocr'], 'ocr needs at least one file'],
    [['ocr', 'a.pdf', '--format', 'pdf'], '--format must be one of html, text, json'],
    [['tasks', '--limit', '0'], '--limit must be a whole number from 1 to 100'],
    [['tasks', '--limit', '101'], '--limit must be a whole number from 1 to 100'],
    [['tasks', '--status', 'deleted'], '--status must be one of'],
    [['result'], 'result takes one task id'],
    [['delete', 'a', 'b'], 'delete takes one task id'],
    [['logout', 'now'], 'logout takes no arguments'],
    [['tasks', '--nope'], "Unknown option '--nope'"],
    [['tasks', '--endpoint', 'ftp://x'], '--endpoint must be an http(s) URL'],
  ])('refuses %j with exit code 1 and says why', (argv, message) => {
    // Act
    const error = usageError(argv);

    // Assess
    expect(error.exitCode).toBe(EXIT.usage);
    expect(error.message).toContain(message);
  });
});
