import { serverBackend } from '../support/backends';
import { registerAuthCoresSuite } from './auth-cores-suite';

registerAuthCoresSuite(serverBackend());
