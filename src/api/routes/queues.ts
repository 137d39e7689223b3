import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyPluginAsync } from 'fastify';

const BASE_PATH = '/queues';

/** The bull-board dashboard of the training queue at /queues. */
export const queueDashboardRoutes: FastifyPluginAsync<{ queue: Queue }> = async (app, { queue }) => {
  const serverAdapter = new FastifyAdapter();
  createBullBoard({ queues: [new BullMQAdapter(queue, { readOnlyMode: true })], serverAdapter });
  serverAdapter.setBasePath(BASE_PATH);
  await app.register(serverAdapter.registerPlugin(), { prefix: BASE_PATH });
};
