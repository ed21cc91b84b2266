import type { ApiDeps } from '../../src/api/deps';
import { toLambdaHandler, type ApiCore, type LambdaHandlerOptions, type ProxyHandler } from './http-handler';
import { awsApiDeps } from './runtime';

/** What every route entry file exports (see routes.ts). */
export interface RouteModule {
  /** The Lambda handler, over AWS dependencies built from the environment. */
  handler: ProxyHandler;
  /** The same core over other dependencies: local mode and tests. */
  withDeps(makeDeps: () => ApiDeps | Promise<ApiDeps>): ProxyHandler;
}

/**
 * An entry file is one line:
 *   export const { handler, withDeps } = defineHandler(meCore);
 */
export function defineHandler(core: ApiCore<ApiDeps>, options: LambdaHandlerOptions = {}): RouteModule {
  return {
    handler: toLambdaHandler(core, awsApiDeps, options),
    withDeps: (makeDeps) => toLambdaHandler(core, makeDeps, options),
  };
}

export function isRouteModule(value: unknown): value is RouteModule {
  const m = value as Partial<RouteModule> | null;
  return typeof m === 'object' && m !== null && typeof m.handler === 'function' && typeof m.withDeps === 'function';
}
