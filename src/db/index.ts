/**
 * The data layer's public surface. Server-side code imports `createPgDatabase` from
 * './pg-database' and embedded code `openPgliteDatabase` from './pglite-database' directly, so
 * a bundle only carries the driver it uses; everything here is driver-free.
 */
export * from './database';
export { runMigrations, migrationChecksum, MigrationChecksumError } from './migrate';
export { MIGRATIONS, type Migration } from './migrations';
export { provisionLoginRoles, API_ROLE, WORKER_ROLE } from './roles';
export * from './repositories/users';
export * from './repositories/sessions';
export * from './repositories/tasks';
export * from './repositories/audit';
export { InvalidCursorError, encodeCursor, decodeCursor, type ListCursor } from './repositories/cursor';
