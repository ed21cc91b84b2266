import { wsTicketCore } from '../../src/api/ws-ticket/ws-ticket';
import { dynamoDbTickets } from './aws/tickets';
import { defineHandler } from './define-handler';

export const { handler, withDeps, awsParts } = defineHandler(wsTicketCore, { aws: { tickets: dynamoDbTickets } });
