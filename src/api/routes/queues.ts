import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { setTimeout as delay } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import type { FastifyPluginAsync } from 'fastify';
import { AppError } from '../../errors.js';
import { errorAnswer, keepOurErrorShape } from '../error-handler.js';

const BASE_PATH = '/queues';
/** bull-board's page asks Google Fonts for IBM Plex: an error offline and a leak of every visit. Its CSS falls back to system fonts. */
const OUTSIDE_FONTS = /<link[^>]+fonts\.googleapis\.com[^>]*>/g;
/** How long after start-up requests wait for the queue's first connection to Redis before they are answered 503. */
const FIRST_CONNECTION_WAIT_MS = 2000;

/**
 * The bull-board dashboard of the training queue at /queues, read-only, for admin keys. A browser
 * cannot add a header to a page it opens, so these routes also take HTTP Basic (the key as the
 * password): the browser asks for it once and sends it with the dashboard's own requests.
 */
export const queueDashboardRoutes: FastifyPluginAsync<{ queue: Queue }> = async (app, { queue }) => {
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, access: 'admin', keyFrom: 'basic' };
  });
  keepOurErrorShape(app);
  // BullMQ's connection waits for Redis as long as it takes, so while Redis is down the board's
  // requests hung without an answer. They are answered 503 instead: at once when the connection
  // was made and lost, and after the first FIRST_CONNECTION_WAIT_MS when it was never made.
  // Nothing waits for it here, so a service started without Redis still starts.
  let client: Awaited<Queue['client']> | null = null;
  const connection = queue.client.then((connected) => (client = connected), () => null);
  const firstConnection = Promise.race([connection, delay(FIRST_CONNECTION_WAIT_MS, null, { ref: false })]);
  app.addHook('preHandler', async (request, reply) => {
    if ((client ?? await firstConnection)?.status === 'ready') return;
    // Answered here: thrown, the error would reach Bull Board's own handler, which answers 500.
    const unavailable = new AppError('SERVICE_UNAVAILABLE', 'The queue dashboard reads Redis, which is not answering; try again once it is back');
    const { status, body } = errorAnswer(unavailable, request, reply);
    return reply.code(status).send(body);
  });
  const serverAdapter = new FastifyAdapter();
  createBullBoard({ queues: [new BullMQAdapter(queue, { readOnlyMode: true })], serverAdapter });
  serverAdapter.setBasePath(BASE_PATH);
  app.addHook('onSend', async (_request, reply, payload) => {
    const html = typeof payload === 'string' && String(reply.getHeader('content-type') ?? '').startsWith('text/html');
    return html ? payload.replace(OUTSIDE_FONTS, '') : payload;
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: BASE_PATH });
};
