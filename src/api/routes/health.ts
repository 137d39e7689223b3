import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AppError } from '../../errors.js';
import type { Services } from '../services.js';
import { errorResponses } from '../schemas/errors.js';
import { healthResponseSchema, readyResponseSchema } from '../schemas/health.js';

export const healthRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  app.get('/health', {
    config: { access: 'public' },
    schema: { tags: ['operations'], summary: 'Liveness: the process answers', response: { 200: healthResponseSchema } },
  }, async () => ({ status: 'ok' as const }));

  app.get('/ready', {
    config: { access: 'public' },
    schema: {
      tags: ['operations'],
      summary: 'Readiness: Redis answers and the data directory is writable',
      response: { 200: readyResponseSchema, ...errorResponses(503) },
    },
  }, async () => {
    const { ready, checks, warnings } = await services.readiness();
    if (!ready) throw new AppError('SERVICE_UNAVAILABLE', 'Not ready: a backing service is unavailable', { checks });
    return { status: 'ready' as const, checks, ...(warnings.length > 0 && { warnings }) };
  });

  app.get('/metrics', {
    config: { access: services.config.PUBLIC_METRICS ? 'public' : 'read' },
    schema: { tags: ['operations'], summary: 'Prometheus metrics', hide: true },
  }, async (_request, reply) => {
    reply.type(services.metrics.registry.contentType);
    return services.metrics.registry.metrics();
  });
};
