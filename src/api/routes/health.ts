/** GET /health (no auth): 200 {"status":"up"} (spec §7.1). */
import type { FastifyInstance } from 'fastify';
import { healthOut } from '../schemas.js';

export function healthRoutes(app: FastifyInstance): void {
  app.get('/health', { schema: { response: { 200: healthOut } } }, async () => ({ status: 'up' }));
}
