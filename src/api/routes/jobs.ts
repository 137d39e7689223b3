import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppConfig } from '../../config.js';
import type { JobEventHub } from '../../queue/job-events.js';
import {
  jobGetQuerySchema, jobLabelsRequestSchema, jobListQuerySchema, jobListSchema, jobParamsSchema, jobRequestSchema, jobSchema, resumeRequestSchema, stepHistoryQuerySchema,
  stepHistorySchema, jobLimits,
} from '../../queue/job-schema.js';
import type { JobService } from '../../queue/job-service.js';
import { API_KEY_COOKIE } from '../api-key-cookie.js';
import { streamJobEvents } from '../job-event-stream.js';
import { errorResponses } from '../schemas/errors.js';

const idempotencyHeadersSchema = z.object({
  'idempotency-key': z.string().min(1).max(200).optional().describe('Retrying with the same key and body answers the same job'),
});

export interface JobRoutesOptions {
  jobs: JobService;
  events: () => JobEventHub;
  config: AppConfig;
}

export const jobRoutes: FastifyPluginAsyncZod<JobRoutesOptions> = async (app, { jobs, events, config }) => {
  const limits = jobLimits(config);

  app.post('/jobs', {
    config: { access: 'train' },
    schema: {
      tags: ['jobs'],
      summary: 'Queue a training job',
      description: 'A dataset, a shape and (optionally) a learning rate are enough: every other option has a default that learns MNIST well. With fromModelId, the job starts from that model\'s weights (a warm start) on this or another dataset of the same width.',
      headers: idempotencyHeadersSchema,
      body: jobRequestSchema(limits),
      response: { 202: jobSchema, ...errorResponses(400, 422) },
    },
  }, async (request, reply) => {
    const job = await jobs.create(request.body, request.headers['idempotency-key']);
    return reply.code(202).header('location', `/jobs/${job.id}`).send(job);
  });

  app.get('/jobs', {
    config: { access: 'read' },
    schema: { tags: ['jobs'], summary: 'List jobs, newest first', querystring: jobListQuerySchema, response: { 200: jobListSchema, ...errorResponses(400) } },
  }, async (request) => jobs.list(request.query));

  app.get('/jobs/:id', {
    config: { access: 'read' },
    schema: {
      tags: ['jobs'], summary: 'A job with its progress, history and result', params: jobParamsSchema, querystring: jobGetQuerySchema,
      response: { 200: jobSchema, ...errorResponses(400, 404) },
    },
  }, async (request) => jobs.get(request.params.id, request.query.history));

  app.patch('/jobs/:id', {
    config: { access: 'train' },
    schema: {
      tags: ['jobs'],
      summary: 'Name or tag a run',
      description: 'Sets the run\'s name (null removes it) and replaces its tags, in any state. Answers the job without its history.',
      params: jobParamsSchema,
      body: jobLabelsRequestSchema,
      response: { 200: jobSchema, ...errorResponses(400, 404) },
    },
  }, async (request) => jobs.label(request.params.id, request.body));

  app.get('/jobs/:id/history', {
    config: { access: 'read' },
    schema: {
      tags: ['jobs'],
      summary: 'A job\'s recorded steps, from a step on and thinned to every n-th',
      description: 'For loss curves of long runs: ask for the steps after the last one you have, or every n-th for an overview.',
      params: jobParamsSchema,
      querystring: stepHistoryQuerySchema,
      response: { 200: stepHistorySchema, ...errorResponses(400, 404) },
    },
  }, async (request) => jobs.stepHistory(request.params.id, request.query));

  app.delete('/jobs/:id', {
    config: { access: 'train' },
    schema: {
      tags: ['jobs'],
      summary: 'Cancel a queued or running job, discarding its run',
      description: 'A queued job is cancelled at once (200). A running one stops within one batch (202; poll until cancelled) and keeps a checkpoint, so POST /jobs/:id/resume can still continue it. It makes no model: to keep one, use POST /jobs/:id/stop.',
      params: jobParamsSchema,
      response: { 200: jobSchema, 202: jobSchema, ...errorResponses(400, 404, 409) },
    },
  }, async (request, reply) => {
    const job = await jobs.cancel(request.params.id);
    return reply.code(job.state === 'cancelled' ? 200 : 202).send(job);
  });

  app.post('/jobs/:id/stop', {
    config: { access: 'train' },
    schema: {
      tags: ['jobs'],
      summary: 'Finish a running job now and keep the model trained so far',
      description: 'The job stops within one batch (202; poll until completed) and ends completed with stopReason "stopped" and a model: the best epoch\'s weights when early stopping keeps them, else the latest. Its checkpoint is kept for POST /jobs/:id/resume.',
      params: jobParamsSchema,
      response: { 202: jobSchema, ...errorResponses(400, 404, 409) },
    },
  }, async (request, reply) => reply.code(202).send(await jobs.stop(request.params.id)));

  app.post('/jobs/:id/resume', {
    config: { access: 'train' },
    schema: {
      tags: ['jobs'],
      summary: 'Continue a stopped, cancelled, failed or timed-out job from its last checkpoint',
      description: 'The same job goes back to the queue (202) with its history up to the checkpoint intact. epochs (the whole run\'s, counting those done) and maxRuntimeSeconds (from now) may change; the body may be empty.',
      params: jobParamsSchema,
      body: resumeRequestSchema(limits),
      response: { 202: jobSchema, ...errorResponses(400, 404, 409) },
    },
  }, async (request, reply) => reply.code(202).header('location', `/jobs/${request.params.id}`).send(await jobs.resume(request.params.id, request.body)));

  app.get('/jobs/:id/events', {
    config: { access: 'read', keyFrom: 'cookie' },
    schema: {
      tags: ['jobs'],
      summary: 'Server-Sent Events: the job now, then its state changes, steps and epochs until it finishes',
      description: `With API keys set, a browser's EventSource cannot send the Authorization header: this route also takes the key from the \`${API_KEY_COOKIE}\` cookie. A query parameter would leave the key in access logs and browser history.`,
      params: jobParamsSchema,
      produces: ['text/event-stream'],
      response: {
        200: z.string().describe('An event stream: "job" (the whole job) or, after Last-Event-ID, the records missed; then "state", "step" and "epoch" events, each with an id to resume from'),
        ...errorResponses(400, 404),
      },
    },
  }, async (request, reply) => {
    await jobs.get(request.params.id);
    await streamJobEvents({ jobId: request.params.id, jobs, hub: events(), request, reply, heartbeatMs: config.SSE_HEARTBEAT_MS });
  });
};
