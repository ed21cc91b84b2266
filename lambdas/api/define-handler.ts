import type { ApiDeps } from '../../src/api/deps';
import { toLambdaHandler, type ApiCore, type LambdaHandlerOptions, type ProxyHandler } from './http-handler';
import { buildAwsApiDeps, type AwsPart, type AwsPartBuilders } from './runtime';

/** What every route entry file exports (see routes.ts). */
export interface RouteModule {
  /** The Lambda handler, over AWS dependencies built from the environment. */
  handler: ProxyHandler;
  /** The same core over other dependencies: local mode and tests. */
  withDeps(makeDeps: () => ApiDeps | Promise<ApiDeps>): ProxyHandler;
  /** The optional AWS parts `handler` can build (see runtime.ts); none when absent. */
  awsParts?: readonly AwsPart[];
}

/**
 * An entry file is one line:
 *   export const { handler, withDeps } = defineHandler(meCore);
 * or, for a route that uses optional AWS parts, names their builders (and exports the list):
 *   export const { handler, withDeps, awsParts } = defineHandler(createTaskCore, { aws: { objectStore: s3ObjectStore } });
 */
export function defineHandler(core: ApiCore<ApiDeps>, options: LambdaHandlerOptions & { aws?: AwsPartBuilders } = {}): RouteModule {
  const { aws = {}, ...handlerOptions } = options;
  return {
    // toLambdaHandler builds the dependencies once per container (which serves one route).
    handler: toLambdaHandler(core, () => buildAwsApiDeps(process.env, aws), handlerOptions),
    withDeps: (makeDeps) => toLambdaHandler(core, makeDeps, handlerOptions),
    awsParts: Object.keys(aws) as AwsPart[],
  };
}

export function isRouteModule(value: unknown): value is RouteModule {
  const m = value as Partial<RouteModule> | null;
  return typeof m === 'object' && m !== null && typeof m.handler === 'function' && typeof m.withDeps === 'function';
}
