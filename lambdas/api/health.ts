import { healthCore } from '../../src/api/health';
import { defineHandler } from './define-handler';

export const { handler, withDeps } = defineHandler(healthCore);
