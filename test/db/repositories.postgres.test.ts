import { openTestServerDatabase, testServer } from '../support/test-databases';
import { registerRepositorySuite } from './repository-suite';

const server = testServer();

registerRepositorySuite({
  title: `repositories on PostgreSQL server ${server.version}`,
  open: () => openTestServerDatabase(server.url),
  server: { adminUrl: server.url },
});
