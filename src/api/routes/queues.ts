import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyPluginAsync } from 'fastify';

const BASE_PATH = '/queues';
/** bull-board's page asks Google Fonts for IBM Plex: an error offline and a leak of every visit. Its CSS falls back to system fonts. */
const OUTSIDE_FONTS = /<link[^>]+fonts\.googleapis\.com[^>]*>/g;

/** The bull-board dashboard of the training queue at /queues. */
export const queueDashboardRoutes: FastifyPluginAsync<{ queue: Queue }> = async (app, { queue }) => {
  const serverAdapter = new FastifyAdapter();
  createBullBoard({ queues: [new BullMQAdapter(queue, { readOnlyMode: true })], serverAdapter });
  serverAdapter.setBasePath(BASE_PATH);
  app.addHook('onSend', async (_request, reply, payload) => {
    const html = typeof payload === 'string' && String(reply.getHeader('content-type') ?? '').startsWith('text/html');
    return html ? payload.replace(OUTSIDE_FONTS, '') : payload;
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: BASE_PATH });
};
