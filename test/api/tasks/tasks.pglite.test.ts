import { pgliteBackend } from '../support/backends';
import { registerCreateSuite } from './create-suite';
import { registerReadDeleteSuite } from './read-delete-suite';

registerCreateSuite(pgliteBackend);
registerReadDeleteSuite(pgliteBackend);
