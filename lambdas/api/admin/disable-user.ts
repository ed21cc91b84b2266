import { disableUserCore } from '../../../src/api/admin/users';
import { dynamoDbConnections } from '../aws/connections';
import { defineHandler } from '../define-handler';

export const { handler, withDeps, awsParts } = defineHandler(disableUserCore, { aws: { connections: dynamoDbConnections } });
