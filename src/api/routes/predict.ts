import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { predictRequestSchema, predictResponseSchema } from '../../models/model-schema.js';
import type { ModelService } from '../../models/model-service.js';
import { errorResponses } from '../schemas/errors.js';
import { typedJsonSerializer } from '../typed-json.js';

export const predictRoutes: FastifyPluginAsyncZod<{ models: ModelService }> = async (app, { models }) => {
  app.post('/predict', {
    config: { access: 'predict' },
    serializerCompiler: typedJsonSerializer,
    schema: {
      tags: ['predict'],
      summary: 'Classify one sample (pixels) or several (inputs)',
      description: 'Pixels are 0..255 integers or 0..1 floats: say which in `scale`, or leave it out and any value above 1 means 0..255. The model is read from disk once, then served from memory.',
      body: predictRequestSchema,
      response: { 200: predictResponseSchema, ...errorResponses(400, 404, 413, 415, 422, 503) },
    },
  }, async (request) => models.predict(request.body));
};
