import { pgliteBackend } from '../support/backends';
import { registerAuthCoresSuite } from './auth-cores-suite';

registerAuthCoresSuite(pgliteBackend);
