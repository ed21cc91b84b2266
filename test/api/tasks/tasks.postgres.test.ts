import { serverBackend } from '../support/backends';
import { registerCreateSuite } from './create-suite';
import { registerReadDeleteSuite } from './read-delete-suite';

const backend = serverBackend();
registerCreateSuite(backend);
registerReadDeleteSuite(backend);
