/** State handed from globalSetup to globalTeardown (both run in jest's parent process). */
interface HarnessState {
  stopServer?: () => void;
}

const KEY = Symbol.for('untxt.test.harness');

export function setHarnessState(state: HarnessState): void {
  (globalThis as Record<symbol, unknown>)[KEY] = state;
}

export function takeHarnessState(): HarnessState {
  const g = globalThis as Record<symbol, unknown>;
  const state = (g[KEY] as HarnessState | undefined) ?? {};
  delete g[KEY];
  return state;
}
