import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';

/** Routes anyone may call: probes, metrics and the API documentation. */
const PUBLIC_PATH_PREFIXES = ['/health', '/ready', '/metrics', '/docs'];

function sameKey(given: string, expected: Buffer): boolean {
  const candidate = Buffer.from(given);
  return candidate.length === expected.length && timingSafeEqual(candidate, expected);
}

/** With API_KEY set, every other route needs `Authorization: Bearer <key>` or `X-Api-Key: <key>`. */
export function installApiKeyCheck(app: FastifyInstance, apiKey: string | undefined): void {
  if (!apiKey) return;
  const expected = Buffer.from(apiKey);
  app.addHook('onRequest', async (request) => {
    if (PUBLIC_PATH_PREFIXES.some((prefix) => request.url === prefix || request.url.startsWith(`${prefix}/`))) return;
    const bearer = request.headers.authorization?.match(/^Bearer (.+)$/)?.[1];
    const header = request.headers['x-api-key'];
    const given = bearer ?? (typeof header === 'string' ? header : undefined);
    if (!given || !sameKey(given, expected)) throw new AppError('UNAUTHORIZED');
  });
}
