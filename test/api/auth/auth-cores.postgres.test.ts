import { registerOnServer } from '../support/backends';
import { registerAuthCoresSuite } from './auth-cores-suite';

// Throws under CI=true when no server was prepared: a missing server must fail CI, not skip.
registerOnServer('account and auth cores', registerAuthCoresSuite);
