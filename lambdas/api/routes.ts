/**
 * The one list of HTTP routes. The CDK app makes one NodejsFunction per entry and one API Gateway
 * method per (method, path); local mode mounts the same entries (local/api.ts); the OpenAPI
 * document lists them. Every entry file exports `handler` (the Lambda) and `withDeps` (the same
 * core over other dependencies), see lambdas/api/define-handler.ts.
 *
 * auth: `public` needs no token (API Gateway authorization NONE); `user` and `admin` go through
 * the Lambda authorizer. The admin distinction (role + TOTP) is enforced by the core itself; the
 * manifest says it so the infrastructure and the documentation can tell.
 */

export type RouteAuth = 'public' | 'user' | 'admin';
export type RouteMethod = 'GET' | 'POST' | 'DELETE';

export interface RouteSpec {
  readonly id: string;
  readonly method: RouteMethod;
  /** API Gateway resource syntax: `/v1/tasks/{id}`. */
  readonly path: string;
  /** Handler file, relative to the repository root. */
  readonly entry: string;
  readonly auth: RouteAuth;
  readonly summary: string;
}

export const ROUTES = [
  { id: 'register', method: 'POST', path: '/v1/auth/register', entry: 'lambdas/api/auth/register.ts', auth: 'public', summary: 'Create an account' },
  { id: 'login', method: 'POST', path: '/v1/auth/login', entry: 'lambdas/api/auth/login.ts', auth: 'public', summary: 'Log in: access and refresh token' },
  { id: 'refresh', method: 'POST', path: '/v1/auth/refresh', entry: 'lambdas/api/auth/refresh.ts', auth: 'public', summary: 'Rotate a refresh token for new tokens' },
  { id: 'logout', method: 'POST', path: '/v1/auth/logout', entry: 'lambdas/api/auth/logout.ts', auth: 'user', summary: 'End the current session' },
  { id: 'me', method: 'GET', path: '/v1/me', entry: 'lambdas/api/auth/me.ts', auth: 'user', summary: 'The calling user' },
  { id: 'createTask', method: 'POST', path: '/v1/tasks', entry: 'lambdas/api/tasks/create.ts', auth: 'user', summary: 'Create a task and a presigned upload' },
  { id: 'listTasks', method: 'GET', path: '/v1/tasks', entry: 'lambdas/api/tasks/list.ts', auth: 'user', summary: "The caller's tasks, newest first" },
  { id: 'getTask', method: 'GET', path: '/v1/tasks/{id}', entry: 'lambdas/api/tasks/get.ts', auth: 'user', summary: 'One task' },
  { id: 'getResult', method: 'GET', path: '/v1/tasks/{id}/result', entry: 'lambdas/api/tasks/result.ts', auth: 'user', summary: "A task's result" },
  { id: 'getPageImage', method: 'GET', path: '/v1/tasks/{id}/pages/{page}/image', entry: 'lambdas/api/tasks/page-image.ts', auth: 'user', summary: "A presigned GET for a page's preview image" },
  { id: 'deleteTask', method: 'DELETE', path: '/v1/tasks/{id}', entry: 'lambdas/api/tasks/delete.ts', auth: 'user', summary: 'Erase a task, its document and results' },
  { id: 'wsTicket', method: 'POST', path: '/v1/ws-ticket', entry: 'lambdas/api/ws-ticket.ts', auth: 'user', summary: 'A single-use WebSocket ticket' },
  { id: 'adminListUsers', method: 'GET', path: '/v1/admin/users', entry: 'lambdas/api/admin/list-users.ts', auth: 'admin', summary: 'List users' },
  { id: 'adminDisableUser', method: 'POST', path: '/v1/admin/users/{id}/disable', entry: 'lambdas/api/admin/disable-user.ts', auth: 'admin', summary: 'Disable a user and end their sessions' },
  { id: 'adminEnableUser', method: 'POST', path: '/v1/admin/users/{id}/enable', entry: 'lambdas/api/admin/enable-user.ts', auth: 'admin', summary: 'Enable a user (approves a pending registration)' },
  { id: 'adminInvite', method: 'POST', path: '/v1/admin/invites', entry: 'lambdas/api/admin/create-invite.ts', auth: 'admin', summary: 'Create a single-use invite code' },
  { id: 'openapi', method: 'GET', path: '/v1/openapi.json', entry: 'lambdas/api/openapi.ts', auth: 'public', summary: 'This API as OpenAPI 3.1' },
  { id: 'health', method: 'GET', path: '/health', entry: 'lambdas/api/health.ts', auth: 'public', summary: 'Whether the service can reach its database' },
] as const satisfies readonly RouteSpec[];

export type RouteId = (typeof ROUTES)[number]['id'];

export function routeById(id: RouteId): RouteSpec {
  return ROUTES.find((route) => route.id === id)!;
}
