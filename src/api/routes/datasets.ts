import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { DatasetService } from '../../data/dataset-service.js';
import { datasetListSchema, datasetParamsSchema, datasetSchema, datasetViewSchema, sampleParamsSchema, sampleSchema, uploadFormSchema } from '../../data/dataset-schema.js';
import { pageQuerySchema } from '../../storage/paging.js';
import { multipartParts, registerMultipart } from '../multipart.js';
import { errorResponses } from '../schemas/errors.js';

const UPLOAD_DESCRIPTION = `Multipart upload of one dataset, validated completely before it is stored:
- \`images\` + \`labels\`: an IDX pair exactly as MNIST publishes it, raw or gzip;
- or \`file\`: a CSV (header optional; see labelColumn, targetColumns, delimiter and inputs) or a JSON \`{ inputs, labels }\` / \`{ inputs, targets }\`.

Optional text fields: \`name\`, \`numClasses\`, and for a CSV \`labelColumn\`, \`targetColumns\`, \`delimiter\`, \`inputs\`. Uploading the same content again answers 200 with the existing dataset.`;

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
      multipartBody: uploadFormSchema,
      response: { 200: datasetSchema, 201: datasetSchema, ...errorResponses(400, 413, 415, 503) },
    },
  }, async (request, reply) => {
    const { dataset, created } = await datasets.upload(multipartParts(request));
    return reply.code(created ? 201 : 200).header('location', `/datasets/${dataset.id}`).send(dataset);
  });

  app.get('/datasets', {
    config: { access: 'read' },
    schema: { tags: ['datasets'], summary: 'List datasets, newest first, a page at a time, with what uses each', querystring: pageQuerySchema, response: { 200: datasetListSchema, ...errorResponses(400) } },
  }, async (request) => datasets.list(request.query));

  app.get('/datasets/:id', {
    config: { access: 'read' },
    schema: { tags: ['datasets'], summary: 'Get a dataset, with the jobs and models that use it', params: datasetParamsSchema, response: { 200: datasetViewSchema, ...errorResponses(400, 404) } },
  }, async (request) => datasets.view(request.params.id));

  app.get('/datasets/:id/samples/:index', {
    config: { access: 'read' },
    schema: { tags: ['datasets'], summary: 'Get one sample', params: sampleParamsSchema, response: { 200: sampleSchema, ...errorResponses(400, 404) } },
  }, async (request) => datasets.sample(request.params.id, request.params.index));

  app.delete('/datasets/:id', {
    config: { access: 'train' },
    schema: { tags: ['datasets'], summary: 'Delete a dataset that no queued or running job uses and no model was trained on', params: datasetParamsSchema, response: { 204: z.null(), ...errorResponses(400, 404, 409) } },
  }, async (request, reply) => {
    await datasets.delete(request.params.id);
    return reply.code(204).send(null);
  });
};
