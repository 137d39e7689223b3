import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import { API_KEY_COOKIE } from './api-key-cookie.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * How a route is reached with API_KEY set: `public` needs no key (the dashboard's static files);
     * `header-or-cookie` also takes the key from the API key cookie (for EventSource). Unset: the header only.
     */
    apiKey?: 'public' | 'header-or-cookie';
  }
}

/** Routes anyone may call: probes, metrics and the API documentation. */
const PUBLIC_PATH_PREFIXES = ['/health', '/ready', '/metrics', '/docs'];

function sameKey(given: string, expected: Buffer): boolean {
  const candidate = Buffer.from(given);
  return candidate.length === expected.length && timingSafeEqual(candidate, expected);
}

function keyFromHeaders(request: FastifyRequest): string | undefined {
  const bearer = request.headers.authorization?.match(/^Bearer (.+)$/)?.[1];
  const header = request.headers['x-api-key'];
  return bearer ?? (typeof header === 'string' ? header : undefined);
}

function keyFromCookie(request: FastifyRequest): string | undefined {
  const prefix = `${API_KEY_COOKIE}=`;
  const pair = request.headers.cookie?.split(';').map((part) => part.trim()).find((part) => part.startsWith(prefix));
  if (pair === undefined) return undefined;
  try {
    return decodeURIComponent(pair.slice(prefix.length));
  } catch {
    return undefined;
  }
}

/**
 * With API_KEY set, every other route needs `Authorization: Bearer <key>` or `X-Api-Key: <key>`;
 * routes marked `header-or-cookie` also take it from the API key cookie.
 */
export function installApiKeyCheck(app: FastifyInstance, apiKey: string | undefined): void {
  if (!apiKey) return;
  const expected = Buffer.from(apiKey);
  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.apiKey;
    if (access === 'public' || PUBLIC_PATH_PREFIXES.some((prefix) => request.url === prefix || request.url.startsWith(`${prefix}/`))) return;
    const given = keyFromHeaders(request) ?? (access === 'header-or-cookie' ? keyFromCookie(request) : undefined);
    if (!given || !sameKey(given, expected)) throw new AppError('UNAUTHORIZED');
  });
}
