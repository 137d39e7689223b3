import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  aliasAssignmentSchema, aliasBodySchema, aliasParamsSchema, evaluateRequestSchema, evaluationSchema, exportQuerySchema, jsonExportSchema, modelListSchema,
  modelParamsSchema, modelSchema, registeredModelSchema, registeredNameParamsSchema,
} from '../../models/model-schema.js';
import type { ModelService } from '../../models/model-service.js';
import { pageQuerySchema } from '../../storage/paging.js';
import { errorResponses } from '../schemas/errors.js';

export const modelRoutes: FastifyPluginAsyncZod<{ models: ModelService }> = async (app, { models }) => {
  app.get('/models', {
    config: { access: 'read' },
    schema: { tags: ['models'], summary: 'List models, newest first, a page at a time', querystring: pageQuerySchema, response: { 200: modelListSchema, ...errorResponses(400) } },
  }, async (request) => models.list(request.query));

  app.get('/models/:name/versions', {
    config: { access: 'read' },
    schema: {
      tags: ['registry'],
      summary: 'A registered name\'s versions, oldest first, with their models and aliases',
      description: 'A job with registerAs: "name" makes each model it completes the next version of that name, as in MLflow\'s model registry.',
      params: registeredNameParamsSchema,
      response: { 200: registeredModelSchema, ...errorResponses(400, 404) },
    },
  }, async (request) => models.versions(request.params.name));

  app.put('/models/:name/aliases/:alias', {
    config: { access: 'train' },
    schema: {
      tags: ['registry'],
      summary: 'Point an alias (e.g. "production") at a version',
      description: 'POST /predict and /v2 then take "name@alias". Moving the alias moves every client that uses it at once.',
      params: aliasParamsSchema,
      body: aliasBodySchema,
      response: { 200: aliasAssignmentSchema, ...errorResponses(400, 404) },
    },
  }, async (request) => models.setAlias(request.params.name, request.params.alias, request.body.version));

  app.delete('/models/:name/aliases/:alias', {
    config: { access: 'train' },
    schema: { tags: ['registry'], summary: 'Remove an alias', params: aliasParamsSchema, response: { 204: z.null(), ...errorResponses(400, 404) } },
  }, async (request, reply) => {
    await models.deleteAlias(request.params.name, request.params.alias);
    return reply.code(204).send(null);
  });

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

  app.get('/models/:id/export', {
    config: { access: 'read' },
    schema: {
      tags: ['models'],
      summary: 'Export the model as ONNX, or as plain JSON',
      description: 'ONNX: input "input" [N, width] float32 (scaled as training saw it; the model\'s metadata_props say how), output "probabilities" [N, classes], one Gemm and activation per layer. JSON: shapes and weights.',
      params: modelParamsSchema,
      querystring: exportQuerySchema,
      produces: ['application/octet-stream', 'application/json'],
      response: { 200: z.union([jsonExportSchema, z.unknown().describe('The ONNX model bytes')]), ...errorResponses(400, 404) },
    },
  }, async (request, reply) => {
    if (request.query.format === 'json') return models.exportJson(request.params.id);
    const { record, bytes } = await models.exportOnnx(request.params.id);
    return reply
      .type('application/octet-stream')
      .header('content-disposition', `attachment; filename="${record.id}.onnx"`)
      .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });

  app.delete('/models/:id', {
    config: { access: 'train' },
    schema: {
      tags: ['models'],
      summary: 'Delete a model and its snapshot',
      description: 'Refused (409) while an alias points at it. Its registry version, and its job\'s modelId, go with it.',
      params: modelParamsSchema,
      response: { 204: z.null(), ...errorResponses(400, 404, 409) },
    },
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
      response: { 200: evaluationSchema, ...errorResponses(400, 404, 413, 415, 422, 503) },
    },
  }, async (request) => models.evaluate(request.params.id, request.body));
};
