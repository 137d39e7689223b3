import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pageQuerySchema } from '../../storage/paging.js';
import { streamSweepEvents } from '../../sweeps/sweep-event-stream.js';
import { sweepListSchema, sweepParamsSchema, sweepRequestSchema, sweepSchema } from '../../sweeps/sweep-schema.js';
import type { SweepService } from '../../sweeps/sweep-service.js';
import { errorResponses } from '../schemas/errors.js';

export interface SweepRoutesOptions {
  sweeps: SweepService;
  heartbeatMs: number;
}

export const sweepRoutes: FastifyPluginAsyncZod<SweepRoutesOptions> = async (app, { sweeps, heartbeatMs }) => {
  app.post('/sweeps', {
    config: { access: 'train' },
    schema: {
      tags: ['sweeps'],
      summary: 'Start a hyperparameter sweep',
      description: 'Each trial is an ordinary job (POST /jobs with the dataset, validation, base and its values from space), so trials spread over every worker. Every trial is checked before the sweep starts. With scheduler "asha", trials that rank below the top 1/η of a rung are stopped and keep their model; a trial whose diagnosis says it diverges or is dead is stopped at once.',
      body: sweepRequestSchema,
      response: { 201: sweepSchema, ...errorResponses(400) },
    },
  }, async (request, reply) => {
    const sweep = await sweeps.create(request.body);
    return reply.code(201).header('location', `/sweeps/${sweep.id}`).send(sweep);
  });

  app.get('/sweeps', {
    config: { access: 'read' },
    schema: {
      tags: ['sweeps'], summary: 'List sweeps, newest first, a page at a time, each with its leader',
      querystring: pageQuerySchema, response: { 200: sweepListSchema, ...errorResponses(400) },
    },
  }, async (request) => sweeps.list(request.query));

  app.get('/sweeps/:id', {
    config: { access: 'read' },
    schema: { tags: ['sweeps'], summary: 'A sweep with its leaderboard', params: sweepParamsSchema, response: { 200: sweepSchema, ...errorResponses(400, 404) } },
  }, async (request) => sweeps.get(request.params.id));

  app.delete('/sweeps/:id', {
    config: { access: 'train' },
    schema: {
      tags: ['sweeps'],
      summary: 'Cancel a sweep: every queued or running trial, and those not started',
      params: sweepParamsSchema,
      response: { 200: sweepSchema, ...errorResponses(400, 404, 409) },
    },
  }, async (request) => sweeps.cancel(request.params.id));

  app.get('/sweeps/:id/events', {
    config: { access: 'read' },
    schema: {
      tags: ['sweeps'],
      summary: 'Server-Sent Events: the sweep now, then again whenever it changes, until it finishes',
      params: sweepParamsSchema,
      produces: ['text/event-stream'],
      response: {
        200: z.string().describe('An event stream of "sweep" events, each the whole sweep with its leaderboard'),
        ...errorResponses(400, 404),
      },
    },
  }, async (request, reply) => streamSweepEvents({ id: request.params.id, sweeps, request, reply, heartbeatMs }));
};
