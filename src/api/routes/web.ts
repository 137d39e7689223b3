import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { AppError } from '../../errors.js';

/** dist/web, where `npm run build:web` bundles the dashboard; this file runs from dist/src/api/routes. */
const WEB_BUILD_DIR = fileURLToPath(new URL('../../../web/', import.meta.url));

export interface WebRoutesOptions {
  /** The folder of the built dashboard; tests point it elsewhere. */
  root?: string;
}

/**
 * The web dashboard at `/`: static files that use only the public API. They hold no data, so
 * they need no API key: the page asks for the key once the API answers 401. One route per
 * built file (no wildcard), so any other path is still the usual 404, or 401 without a key.
 * If the dashboard was not built, `/` says how to build it instead of answering a bare 404.
 */
export const webRoutes: FastifyPluginAsync<WebRoutesOptions> = async (app, { root = WEB_BUILD_DIR }) => {
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, access: 'public' };
  });
  if (!existsSync(join(root, 'index.html'))) {
    app.get('/', { schema: { hide: true } }, async () => {
      throw new AppError('SERVICE_UNAVAILABLE', 'The web dashboard is not built: run npm run build:web, then restart the service');
    });
    return;
  }
  await app.register(fastifyStatic, { root, prefix: '/', index: 'index.html', wildcard: false });
};
