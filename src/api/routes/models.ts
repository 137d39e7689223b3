import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { evaluateRequestSchema, evaluationSchema, modelListSchema, modelParamsSchema, modelSchema } from '../../models/model-schema.js';
import type { ModelService } from '../../models/model-service.js';
import { errorResponses } from '../schemas/errors.js';

export const modelRoutes: FastifyPluginAsyncZod<{ models: ModelService }> = async (app, { models }) => {
  app.get('/models', {
    config: { access: 'read' },
    schema: { tags: ['models'], summary: 'List models, newest first', response: { 200: modelListSchema } },
  }, async () => ({ models: await models.list() }));

  app.get('/models/:id', {
    config: { access: 'read' },
    schema: { tags: ['models'], summary: 'A model: shape, config, metrics, source job', params: modelParamsSchema, response: { 200: modelSchema, ...errorResponses(400, 404) } },
  }, async (request) => models.get(request.params.id));

  app.get('/models/:id/snapshot', {
    config: { access: 'read' },
    schema: { tags: ['models'], summary: 'Download the binary snapshot (header + float32 weights)', params: modelParamsSchema, produces: ['application/octet-stream'], response: { 200: z.unknown().describe('The snapshot bytes'), ...errorResponses(400, 404) } },
  }, async (request, reply) => {
    const { record, stream } = await models.snapshot(request.params.id);
    return reply
      .type('application/octet-stream')
      .header('content-length', record.bytes)
      .header('content-disposition', `attachment; filename="${record.id}.mlps"`)
      .send(stream);
  });

  app.delete('/models/:id', {
    config: { access: 'train' },
    schema: { tags: ['models'], summary: 'Delete a model and its snapshot', params: modelParamsSchema, response: { 204: z.null(), ...errorResponses(400, 404) } },
  }, async (request, reply) => {
    await models.delete(request.params.id);
    return reply.code(204).send(null);
  });

  app.post('/models/:id/evaluate', {
    config: { access: 'predict' },
    schema: {
      tags: ['models'],
      summary: 'Accuracy, loss and confusion matrix on a dataset, or on the data its job validated on',
      params: modelParamsSchema,
      body: evaluateRequestSchema,
      response: { 200: evaluationSchema, ...errorResponses(400, 404) },
    },
  }, async (request) => models.evaluate(request.params.id, request.body));
};
