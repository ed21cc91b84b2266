import { migration0001 } from './0001_initial';
import { migration0002 } from './0002_auth';
import { migration0003 } from './0003_login_throttles';
import type { Migration } from './types';

export type { Migration } from './types';

/** Every migration, in the order they apply. Append only. */
export const MIGRATIONS: readonly Migration[] = [migration0001, migration0002, migration0003];
