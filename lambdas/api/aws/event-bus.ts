import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventBridgeEventBus } from '../../../src/adapters/aws/eventbridge-event-bus';
import type { EventBus } from '../../../src/ports/event-bus';

/** EVENT_BUS_NAME → task status events on EventBridge. */
export const eventBridgeBus = (eventBusName: string): EventBus => new EventBridgeEventBus({ client: new EventBridgeClient({}), eventBusName });
