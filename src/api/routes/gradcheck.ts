import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { gradientCheckRequestSchema, gradientCheckSchema } from '../../models/gradient-check-schema.js';
import type { GradientCheckService } from '../../models/gradient-check-service.js';
import { errorResponses } from '../schemas/errors.js';

export interface GradientCheckRoutesOptions {
  gradientCheck: GradientCheckService;
}

export const gradientCheckRoutes: FastifyPluginAsyncZod<GradientCheckRoutesOptions> = async (app, { gradientCheck }) => {
  app.post('/gradcheck', {
    config: { access: 'train' },
    schema: {
      tags: ['gradcheck'],
      summary: "Check backprop against finite differences on a dataset's samples",
      description:
        'Builds the network a job with these fields would start from (same defaults, same seed), draws a seeded batch of real samples, ' +
        'scaled as training scales them, and compares every layer\'s backprop gradient with a five-point float64 finite difference. ' +
        'Parameters are sampled per layer within a work budget, so a deep network answers in a few seconds; ' +
        'parameters next to a relu kink are left out and counted. `message` says what the figures mean.',
      body: gradientCheckRequestSchema,
      response: { 200: gradientCheckSchema, ...errorResponses(400) },
    },
  }, async (request) => gradientCheck.check(request.body));
};
