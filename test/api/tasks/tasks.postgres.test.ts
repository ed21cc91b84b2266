import { registerOnServer } from '../support/backends';
import { registerCreateSuite } from './create-suite';
import { registerReadDeleteSuite } from './read-delete-suite';

// Throws under CI=true when no server was prepared: a missing server must fail CI, not skip.
registerOnServer('the task cores', (backend) => {
  registerCreateSuite(backend);
  registerReadDeleteSuite(backend);
});
