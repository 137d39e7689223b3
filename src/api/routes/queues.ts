import { createBullBoard } from '@bull-board/api';
import type { IServerAdapter } from '@bull-board/api/typings/app';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyPluginAsync } from 'fastify';

const BASE_PATH = '/queues';

/** The bull-board dashboard of the training queue at /queues. */
export const queueDashboardRoutes: FastifyPluginAsync<{ queue: Queue }> = async (app, { queue }) => {
  const serverAdapter = new FastifyAdapter();
  // @bull-board/fastify 9.10.1 pins its own copy of @bull-board/api 9.10.1; ours is 9.10.2. The
  // runtime interface is the same, but TypeScript sees two declarations of the adapter class.
  createBullBoard({ queues: [new BullMQAdapter(queue, { readOnlyMode: true })], serverAdapter: serverAdapter as unknown as IServerAdapter });
  serverAdapter.setBasePath(BASE_PATH);
  await app.register(serverAdapter.registerPlugin(), { prefix: BASE_PATH });
};
