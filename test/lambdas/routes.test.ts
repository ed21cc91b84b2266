import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isRouteModule } from '../../lambdas/api/define-handler';
import { ROUTES } from '../../lambdas/api/routes';

const ROOT = join(__dirname, '..', '..');
const AUTH_AND_ADMIN = ['register', 'login', 'refresh', 'logout', 'me', 'adminListUsers', 'adminDisableUser', 'adminEnableUser', 'adminInvite', 'health'];

describe('the route manifest', () => {
  it('has unique ids and unique method + path pairs', () => {
    // Act
    const ids = new Set(ROUTES.map((r) => r.id));
    const keys = new Set(ROUTES.map((r) => `${r.method} ${r.path}`));

    // Assess
    expect(ids.size).toBe(ROUTES.length);
    expect(keys.size).toBe(ROUTES.length);
  });

  it('needs no token only for register, login, refresh, the OpenAPI document and health', () => {
    // Act
    const open = ROUTES.filter((r) => r.auth === 'public').map((r) => r.id);

    // Assess
    expect(open.sort()).toEqual(['health', 'login', 'openapi', 'refresh', 'register']);
    expect(ROUTES.filter((r) => r.path.startsWith('/v1/admin/')).every((r) => r.auth === 'admin')).toBe(true);
  });

  it.each(AUTH_AND_ADMIN)('points %s at a file exporting handler and withDeps', (id) => {
    // Prepare
    const route = ROUTES.find((r) => r.id === id)!;

    // Act
    const module: unknown = require(join(ROOT, route.entry));

    // Assess
    expect(existsSync(join(ROOT, route.entry))).toBe(true);
    expect(isRouteModule(module)).toBe(true);
  });
});
