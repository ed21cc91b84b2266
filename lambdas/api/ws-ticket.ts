import { wsTicketCore } from '../../src/api/ws-ticket/ws-ticket';
import { defineHandler } from './define-handler';

export const { handler, withDeps } = defineHandler(wsTicketCore);
