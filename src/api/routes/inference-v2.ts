import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { InferenceV2, type V2ModelRef } from '../../models/inference-v2.js';
import {
  v2ErrorSchema, v2InferRequestSchema, v2InferResponseSchema, v2ModelMetadataSchema, v2ModelParamsSchema, v2ServerMetadataSchema, v2VersionParamsSchema,
} from '../../models/inference-v2-schema.js';
import type { ModelService } from '../../models/model-service.js';
import { errorAnswer } from '../error-handler.js';

export interface InferenceV2RoutesOptions {
  models: ModelService;
  readiness: () => Promise<{ ready: boolean }>;
  serverVersion: string;
}

const SERVER_NAME = 'mlp-service';
const v2Errors = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, v2ErrorSchema]));

/**
 * The protocol's error body is `{ "error": "message" }`: the service's one error handler decides
 * the status and the words, and this sends only the words. Under /v2 an unknown route answers the same way.
 */
function replyInProtocolShape(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, body } = errorAnswer(error, request, reply);
  return reply.code(status).send({ error: body.error.message });
}

/** The Open Inference Protocol (KServe v2) REST routes, under /v2, with the protocol's error shape. */
export const inferenceV2Routes: FastifyPluginAsyncZod<InferenceV2RoutesOptions> = async (app, { models, readiness, serverVersion }) => {
  const inference = new InferenceV2(models);
  app.setErrorHandler(replyInProtocolShape);
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `No Open Inference Protocol route matches ${request.method} ${request.url}` }));
  const tags = ['inference v2'];

  app.get('/', {
    config: { access: 'public' },
    schema: { tags, summary: 'Server metadata', response: { 200: v2ServerMetadataSchema } },
  }, async () => ({ name: SERVER_NAME, version: serverVersion, extensions: [] }));

  app.get('/health/live', {
    config: { access: 'public' },
    schema: { tags, summary: 'Server live: the process answers', response: { 200: z.object({ live: z.boolean() }) } },
  }, async () => ({ live: true }));

  app.get('/health/ready', {
    config: { access: 'public' },
    schema: { tags, summary: 'Server ready: Redis and storage answer', response: { 200: z.object({ ready: z.boolean() }), 503: z.object({ ready: z.boolean() }) } },
  }, async (_request, reply) => {
    const { ready } = await readiness();
    return reply.code(ready ? 200 : 503).send({ ready });
  });

  const routesFor = (path: string, params: typeof v2ModelParamsSchema | typeof v2VersionParamsSchema, ref: (params: { name: string; version?: string }) => V2ModelRef) => {
    app.get(path, {
      config: { access: 'read' },
      schema: {
        tags, summary: 'Model metadata: its input and output tensors',
        description: 'name is a model id, a registered name (its newest version) or "name@alias".',
        params, response: { 200: v2ModelMetadataSchema, ...v2Errors(400, 404) },
      },
    }, async (request) => inference.metadata(ref(request.params)));

    app.get(`${path}/ready`, {
      config: { access: 'read' },
      schema: { tags, summary: 'Model ready: it loads and can serve', params, response: { 200: z.object({ name: z.string(), ready: z.boolean() }), ...v2Errors(400, 404) } },
    }, async (request) => inference.ready(ref(request.params)));

    app.post(`${path}/infer`, {
      config: { access: 'predict' },
      schema: {
        tags, summary: 'Inference on a tensor of one or more samples',
        description: 'One input, "input", of shape [N, width] (or [width]): UINT8 for 0..255 pixels, FP32 or FP64 for values as the model takes them. Outputs "probabilities" (FP32 [N, classes]) and "label" (INT64 [N]).',
        params, body: v2InferRequestSchema, response: { 200: v2InferResponseSchema, ...v2Errors(400, 404, 413, 415, 422, 503) },
      },
    }, async (request) => inference.infer(ref(request.params), request.body));
  };
  routesFor('/models/:name', v2ModelParamsSchema, ({ name }) => ({ name }));
  routesFor('/models/:name/versions/:version', v2VersionParamsSchema, ({ name, version }) => ({ name, version }));
};
