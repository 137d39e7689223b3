import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { DatasetService } from '../../data/dataset-service.js';
import { datasetListSchema, datasetParamsSchema, datasetSchema, sampleParamsSchema, sampleSchema } from '../../data/dataset-schema.js';
import { multipartParts, registerMultipart } from '../multipart.js';
import { errorResponses } from '../schemas/errors.js';

const UPLOAD_DESCRIPTION = `Multipart upload of one dataset, validated completely before it is stored:
- \`images\` + \`labels\`: an IDX pair exactly as MNIST publishes it, raw or gzip;
- or \`file\`: a CSV (label, then pixels; optional header) or a JSON \`{ inputs, labels }\` / \`{ inputs, targets }\`.

Optional text fields: \`name\`, \`numClasses\`. Uploading the same content again answers 200 with the existing dataset.`;

export interface DatasetRoutesOptions {
  datasets: DatasetService;
  maxUploadBytes: number;
}

export const datasetRoutes: FastifyPluginAsyncZod<DatasetRoutesOptions> = async (app, { datasets, maxUploadBytes }) => {
  await registerMultipart(app, maxUploadBytes);

  app.post('/datasets', {
    config: { access: 'train' },
    schema: {
      tags: ['datasets'],
      summary: 'Upload a dataset',
      description: UPLOAD_DESCRIPTION,
      consumes: ['multipart/form-data'],
      response: { 200: datasetSchema, 201: datasetSchema, ...errorResponses(400, 413, 415, 503) },
    },
  }, async (request, reply) => {
    const { dataset, created } = await datasets.upload(multipartParts(request));
    return reply.code(created ? 201 : 200).header('location', `/datasets/${dataset.id}`).send(dataset);
  });

  app.get('/datasets', {
    config: { access: 'read' },
    schema: { tags: ['datasets'], summary: 'List datasets, newest first', response: { 200: datasetListSchema } },
  }, async () => ({ datasets: await datasets.list() }));

  app.get('/datasets/:id', {
    config: { access: 'read' },
    schema: { tags: ['datasets'], summary: 'Get a dataset', params: datasetParamsSchema, response: { 200: datasetSchema, ...errorResponses(400, 404) } },
  }, async (request) => datasets.get(request.params.id));

  app.get('/datasets/:id/samples/:index', {
    config: { access: 'read' },
    schema: { tags: ['datasets'], summary: 'Get one sample', params: sampleParamsSchema, response: { 200: sampleSchema, ...errorResponses(400, 404) } },
  }, async (request) => datasets.sample(request.params.id, request.params.index));

  app.delete('/datasets/:id', {
    config: { access: 'train' },
    schema: { tags: ['datasets'], summary: 'Delete a dataset no queued or running job uses', params: datasetParamsSchema, response: { 204: z.null(), ...errorResponses(400, 404, 409) } },
  }, async (request, reply) => {
    await datasets.delete(request.params.id);
    return reply.code(204).send(null);
  });
};
