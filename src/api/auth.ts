import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKeyConfig, ApiKeyScope } from '../config.js';
import { AppError } from '../errors.js';
import { API_KEY_COOKIE } from './api-key-cookie.js';
import { replyWithError } from './error-handler.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route once API keys are set: anyone (`public`), or a key with this scope. Unset means admin. */
    access?: ApiKeyScope | 'public';
    /**
     * Where a browser sends the key when it cannot set a header: `cookie` (the API key cookie, for
     * EventSource) or `basic` (HTTP Basic, the key as the password, for the queue dashboard's pages).
     */
    keyFrom?: 'cookie' | 'basic';
  }
}

/** The realm a browser shows in its password prompt for routes that take HTTP Basic. */
const BASIC_REALM = 'mlp-service (password: an admin API key)';

interface KnownKey {
  name: string;
  scopes: readonly ApiKeyScope[];
  /** SHA-256 of the key: every candidate is compared at one length, so the compare time says nothing about it. */
  digest: Buffer;
}

const digestOf = (key: string): Buffer => createHash('sha256').update(key).digest();

/** Compares against every key, always, so the time taken does not tell which (or whether one) matched. */
function findKey(given: string, keys: readonly KnownKey[]): KnownKey | null {
  const candidate = digestOf(given);
  let found: KnownKey | null = null;
  for (const key of keys) if (timingSafeEqual(candidate, key.digest)) found = key;
  return found;
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

/** `Authorization: Basic base64(user:password)`, any user name, the key as the password. */
function keyFromBasic(request: FastifyRequest): string | undefined {
  const encoded = request.headers.authorization?.match(/^Basic ([A-Za-z0-9+/=]+)$/)?.[1];
  if (encoded === undefined) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

function givenKey(request: FastifyRequest): string | undefined {
  const { keyFrom } = request.routeOptions.config;
  if (keyFrom === 'basic') return keyFromBasic(request) ?? keyFromHeaders(request);
  return keyFromHeaders(request) ?? (keyFrom === 'cookie' ? keyFromCookie(request) : undefined);
}

const allows = (key: KnownKey, scope: ApiKeyScope): boolean => key.scopes.includes(scope) || key.scopes.includes('admin');

/**
 * With API keys configured, each route needs a key with its `access` scope; `admin` includes
 * every scope. The key comes from `Authorization: Bearer <key>` or `X-Api-Key: <key>` (or where
 * the route's `keyFrom` says), never from the URL. The answer is sent here, not thrown: a plugin
 * with an error handler of its own (Bull Board) would otherwise answer in its format.
 */
export function installApiKeyCheck(app: FastifyInstance, configured: readonly ApiKeyConfig[]): void {
  if (configured.length === 0) return;
  const keys: KnownKey[] = configured.map(({ name, key, scopes }) => ({ name, scopes, digest: digestOf(key) }));
  const refuse = (request: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply => {
    if (request.routeOptions.config.keyFrom === 'basic') reply.header('www-authenticate', `Basic realm="${BASIC_REALM}", charset="UTF-8"`);
    return replyWithError(error, request, reply);
  };
  app.addHook('onRequest', async (request, reply) => {
    const access = request.routeOptions.config.access ?? 'admin';
    if (access === 'public') return;
    const given = givenKey(request);
    const key = given === undefined ? null : findKey(given, keys);
    if (!key) return refuse(request, reply, new AppError('UNAUTHORIZED'));
    // A path no route serves is a 404 for any valid key, and a 401 to anyone without one.
    if (!request.is404 && !allows(key, access)) {
      return refuse(request, reply, new AppError('FORBIDDEN', `The API key "${key.name}" does not have the "${access}" scope this route needs`, { scope: access }));
    }
  });
}
