import * as vm from 'node:vm';

/** The realm Node itself runs in; differs from `globalThis` only inside a vm sandbox (jest). */
export function mainRealm(): typeof globalThis {
  return vm.runInThisContext('globalThis') as typeof globalThis;
}

/**
 * Loads a package that is (or depends on) ES modules. Node ≥ 20.19 `require()`s them, but jest's
 * vm sandbox cannot, so inside a sandbox the package is loaded by Node's own loader from the
 * main realm, as the PGlite adapter does. `plain` must be a literal `require('…')` call so that
 * bundlers see and include the package.
 */
export function requireEsm<T>(specifier: string, plain: () => unknown): T {
  const main = mainRealm();
  if (main === globalThis) return plain() as T;
  const hostModule = main.process?.mainModule?.constructor as typeof import('node:module') | undefined;
  if (!hostModule?.createRequire) return plain() as T;
  return hostModule.createRequire(__filename)(specifier) as T;
}
