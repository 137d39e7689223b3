import type { ServerOptions } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppConfig } from '../config.js';
import { MAX_JSON_DEPTH } from '../data/limits.js';
import { JsonDepthScanner } from '../data/json-depth.js';
import { AppError, ERROR_CATALOGUE } from '../errors.js';
import { replyOnSocket } from './error-handler.js';

/** Node checks its header and request timeouts on an interval: a quarter of the headers timeout keeps the overshoot small. */
const TIMEOUT_CHECKS_PER_HEADERS_TIMEOUT = 4;
const MIN_TIMEOUT_CHECK_MS = 100;

const DECODERS = { gzip: createGunzip, 'x-gzip': createGunzip, deflate: createInflate, br: createBrotliDecompress } as const;
const ACCEPTED_ENCODINGS = `${Object.keys(DECODERS).join(', ')} or identity`;

/** The HTTP server's own limits and timeouts, as Fastify options. */
export function httpServerOptions(config: AppConfig): { http: ServerOptions; requestTimeout: number; keepAliveTimeout: number; connectionTimeout: number } {
  return {
    http: {
      maxHeaderSize: config.MAX_HEADER_BYTES,
      headersTimeout: config.HEADERS_TIMEOUT_MS,
      connectionsCheckingInterval: Math.max(MIN_TIMEOUT_CHECK_MS, Math.floor(config.HEADERS_TIMEOUT_MS / TIMEOUT_CHECKS_PER_HEADERS_TIMEOUT)),
      // Node answers a missing Host with a bare 400 of its own; the onRequest check below answers in our shape.
      requireHostHeader: false,
    },
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    keepAliveTimeout: config.KEEP_ALIVE_TIMEOUT_MS,
    // Idle sockets are cut per request below (a body that stalls) and by the keep-alive timeout between requests.
    connectionTimeout: 0,
  };
}

function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * A body that sends nothing for BODY_IDLE_TIMEOUT_MS is answered 408 and its connection closed;
 * once the body has arrived the timer stops, so a slow handler (an evaluation) is not cut off.
 */
function armBodyIdleTimeout(request: FastifyRequest, idleMs: number): void {
  const socket = request.raw.socket;
  // app.inject's requests have no socket to time out.
  if (typeof request.raw.setTimeout !== 'function') return;
  // A listener on the request, not the socket: Node then leaves the socket to us instead of destroying it unanswered.
  request.raw.setTimeout(idleMs, () => {
    const error = new AppError('REQUEST_TIMEOUT', `${ERROR_CATALOGUE.REQUEST_TIMEOUT.message}: the body sent nothing for ${idleMs} ms`, { idleTimeoutMs: idleMs });
    replyOnSocket(request.log, socket, error, 'BODY_IDLE_TIMEOUT');
  });
  request.raw.once('end', () => socket.setTimeout(0));
}

function checkRequestHead(request: FastifyRequest, config: AppConfig): void {
  if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
    throw new AppError('MALFORMED_REQUEST', `${ERROR_CATALOGUE.MALFORMED_REQUEST.message}: an HTTP/1.1 request needs a Host header`);
  }
  if (request.url.length > config.MAX_URL_BYTES) {
    throw new AppError('URL_TOO_LONG', `The URL is ${request.url.length} bytes, over the limit of ${config.MAX_URL_BYTES}; send long data in a body`, { maxBytes: config.MAX_URL_BYTES });
  }
}

/** The decoded body, for a Content-Encoding we know; the body limit then counts decoded bytes. */
function decodedBody(request: FastifyRequest, payload: Readable): Readable {
  const encoding = String(request.headers['content-encoding']).trim().toLowerCase();
  if (encoding === 'identity') return payload;
  const decoder = DECODERS[encoding as keyof typeof DECODERS];
  if (!decoder) {
    throw new AppError('UNSUPPORTED_CONTENT_ENCODING', `Content-Encoding "${encoding.slice(0, 100)}" is not accepted; send ${ACCEPTED_ENCODINGS}, one at a time`, { accepted: Object.keys(DECODERS) });
  }
  if (request.headers['content-type']?.startsWith('multipart/')) {
    throw new AppError('UNSUPPORTED_CONTENT_ENCODING', 'An upload takes no Content-Encoding: gzip the files inside it instead (each file may be .gz)');
  }
  const decoded = Object.assign(new PassThrough(), { receivedEncodedLength: 0 });
  const inflate = decoder();
  payload.on('data', (chunk: Buffer) => {
    decoded.receivedEncodedLength += chunk.length;
  });
  inflate.on('error', (error) => {
    decoded.destroy(new AppError('CORRUPT_BODY_ENCODING', `${ERROR_CATALOGUE.CORRUPT_BODY_ENCODING.message} (${encoding}: ${error.message})`));
  });
  payload.on('error', (error) => decoded.destroy(error));
  payload.pipe(inflate).pipe(decoded);
  return decoded;
}

/**
 * Request-level checks for every route: a Host header, the URL length, the body idle timeout,
 * Content-Encoding, and JSON bodies no deeper than MAX_JSON_DEPTH, checked before JSON.parse.
 */
export function installRequestLimits(app: FastifyInstance, config: AppConfig): void {
  app.addHook('onRequest', async (request) => {
    checkRequestHead(request, config);
    if (hasBody(request)) armBodyIdleTimeout(request, config.BODY_IDLE_TIMEOUT_MS);
  });

  app.addHook('preParsing', async (request, _reply, payload) => {
    if (request.headers['content-encoding'] === undefined || !hasBody(request)) return payload;
    return decodedBody(request, payload);
  });

  // No route takes plain text: without its parser, a text/plain body is a 415 like any other type
  // a route does not take, not a string that fails the route's schema.
  app.removeContentTypeParser('text/plain');
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    const scanner = new JsonDepthScanner(MAX_JSON_DEPTH);
    if (!scanner.feed(bytes)) {
      done(new AppError('JSON_TOO_DEEP', `The body nests arrays and objects more than ${MAX_JSON_DEPTH} deep`, { maxDepth: MAX_JSON_DEPTH }), undefined);
      return;
    }
    const text = bytes.toString('utf8');
    parseJson(request, text, (error, value) => {
      // The default parser says only "not valid JSON" for JSON that sets __proto__ or
      // constructor.prototype too, which it refuses so no handler's object can be poisoned.
      if (error && isJson(text)) {
        done(new AppError('INVALID_JSON', 'The body sets "__proto__" or "constructor.prototype", keys the service refuses in any JSON body'), undefined);
        return;
      }
      done(error, value);
    });
  });
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
