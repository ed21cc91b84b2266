import { EventEmitter } from 'node:events';
import { startWithSignalHandling } from '../../local/lifecycle';

function setup() {
  const signals = new EventEmitter();
  const events: string[] = [];
  let finishStart: () => void = () => undefined;
  const service = { stop: jest.fn(async () => void events.push('stopped')) };
  const start = jest.fn(
    () =>
      new Promise<typeof service>((resolve) => {
        finishStart = () => {
          events.push('started');
          resolve(service);
        };
      }),
  );
  let exit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => {
    exit = (code) => {
      events.push(`exit ${code}`);
      resolve(code);
    };
  });
  const run = () =>
    startWithSignalHandling({
      start,
      signals: signals as unknown as NodeJS.Process,
      exit: (code) => exit(code),
      logger: { info: jest.fn(), error: jest.fn() },
      write: () => undefined,
    });
  return { signals, events, service, start, run, exited, finish: () => finishStart() };
}

describe('starting local mode with signal handling', () => {
  it('waits for start-up to finish when Ctrl-C arrives during it, then stops cleanly and exits 0', async () => {
    // Prepare
    const { signals, events, run, exited, finish } = setup();
    const running = run();
    // Act: the signal arrives while start-up is still under way
    signals.emit('SIGINT', 'SIGINT');
    finish();
    const service = await running;
    const code = await exited;
    // Assess
    expect(service).toBeNull();
    expect(code).toBe(0);
    expect(events).toEqual(['started', 'stopped', 'exit 0']);
  });

  it('has its handlers installed before start-up begins', async () => {
    // Prepare
    const { signals, service, start, run, finish } = setup();
    start.mockImplementationOnce(async () => {
      // Assess (inside start-up)
      expect(signals.listenerCount('SIGINT')).toBe(1);
      expect(signals.listenerCount('SIGTERM')).toBe(1);
      return service;
    });
    // Act
    const started = await run();
    finish();
    // Assess
    expect(started).toBe(service);
  });

  it('stops a running service on SIGTERM and exits at once on a second signal', async () => {
    // Prepare
    const { signals, events, run, exited, finish, service } = setup();
    const running = run();
    finish();
    await running;
    service.stop.mockImplementation(() => new Promise(() => undefined)); // a step that hangs
    // Act
    signals.emit('SIGTERM', 'SIGTERM');
    signals.emit('SIGINT', 'SIGINT');
    const code = await exited;
    // Assess
    expect(code).toBe(1);
    expect(events).toEqual(['started', 'exit 1']);
  });
});
