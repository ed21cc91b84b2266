import { takeHarnessState } from './harness-state';

/** Stops and removes the throwaway PostgreSQL cluster. The PGlite template is a cache and stays. */
export default async function globalTeardown(): Promise<void> {
  takeHarnessState().stopServer?.();
}
