import { openTestPglite } from '../support/test-databases';
import { registerRepositorySuite } from './repository-suite';

registerRepositorySuite({
  title: `repositories on PGlite (PostgreSQL ${process.env.UNTXT_TEST_PGLITE_VERSION ?? '18'} in WebAssembly)`,
  open: openTestPglite,
});
