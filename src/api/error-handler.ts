import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, ERROR_CATALOGUE, type ErrorCode } from '../errors.js';
import type { ErrorResponse } from './schemas/errors.js';

/** Errors raised by Fastify and its plugins that the client caused, by their code. */
const FRAMEWORK_ERROR_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'MALFORMED_REQUEST',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_REQ_FILE_TOO_LARGE: 'UPLOAD_TOO_LARGE',
  FST_PARTS_LIMIT: 'UPLOAD_TOO_LARGE',
  FST_FILES_LIMIT: 'UPLOAD_TOO_LARGE',
  FST_FIELDS_LIMIT: 'UPLOAD_TOO_LARGE',
  FST_ERR_BAD_URL: 'INVALID_URL',
  FST_ERR_MAX_PARAM_LENGTH: 'URL_TOO_LONG',
};

/** A body with a wrong value in each of 784 pixels names the first few, not all of them. */
const MAX_ISSUES_IN_MESSAGE = 3;
const MAX_ISSUES_IN_DETAILS = 20;

/** ioredis gives up on a command after its retries while Redis is unreachable; the blob store after its retries while S3 is. */
const REDIS_UNAVAILABLE_ERRORS = new Set(['MaxRetriesPerRequestError', 'StorageUnavailableError']);

/** What each of Node's HTTP parser errors means, for the client that sent the request. */
const PARSER_ERRORS: Record<string, { code: ErrorCode; message: string }> = {
  HPE_INVALID_METHOD: { code: 'MALFORMED_REQUEST', message: 'the method is not an HTTP method' },
  HPE_INVALID_URL: { code: 'MALFORMED_REQUEST', message: 'the request target has a character a URL may not hold (a NUL, space or control byte)' },
  HPE_INVALID_VERSION: { code: 'MALFORMED_REQUEST', message: 'the HTTP version must be HTTP/1.0 or HTTP/1.1' },
  HPE_INVALID_HEADER_TOKEN: { code: 'MALFORMED_REQUEST', message: 'a header name has a character header names may not hold (a space?)' },
  HPE_INVALID_CONTENT_LENGTH: { code: 'MALFORMED_REQUEST', message: 'Content-Length must be one decimal number' },
  HPE_UNEXPECTED_CONTENT_LENGTH: { code: 'MALFORMED_REQUEST', message: 'send one Content-Length, and not together with Transfer-Encoding' },
  HPE_INVALID_TRANSFER_ENCODING: { code: 'MALFORMED_REQUEST', message: 'send Transfer-Encoding: chunked or Content-Length, not both' },
  HPE_INVALID_CHUNK_SIZE: { code: 'MALFORMED_REQUEST', message: 'a chunk size is not a hexadecimal number or overflows' },
  HPE_INVALID_EOF_STATE: { code: 'MALFORMED_REQUEST', message: 'the connection ended before the body its Content-Length declares' },
  HPE_HEADER_OVERFLOW: { code: 'HEADERS_TOO_LARGE', message: 'the request line and headers together are over the size limit' },
  ERR_HTTP_REQUEST_TIMEOUT: { code: 'REQUEST_TIMEOUT', message: 'the headers or the whole request did not arrive within their time limit' },
};

const REQUEST_LINE_START = /^[A-Z]+ /;

function toAppError(error: FastifyError, request: FastifyRequest): AppError | null {
  if (error instanceof AppError) return error;
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    const limit = request.routeOptions.bodyLimit;
    return new AppError('BODY_TOO_LARGE', `${ERROR_CATALOGUE.BODY_TOO_LARGE.message}${limit ? ` of ${limit} bytes for ${request.method} ${request.routeOptions.url}` : ''}`, limit ? { limit } : undefined);
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = error.validationContext ?? 'request';
    const issues = error.validation.map((issue) => ({
      field: where + issue.instancePath.split('/').filter(Boolean).map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`)).join(''),
      message: issue.message ?? 'is invalid',
    }));
    const shown = issues.slice(0, MAX_ISSUES_IN_MESSAGE).map((issue) => `${issue.field}: ${issue.message}`);
    const more = issues.length - shown.length;
    const message = shown.join('; ') + (more > 0 ? `; and ${more} more` : '');
    return new AppError('VALIDATION_FAILED', message, { issues: issues.slice(0, MAX_ISSUES_IN_DETAILS) });
  }
  const code = error.code && FRAMEWORK_ERROR_CODES[error.code];
  if (code) return new AppError(code, `${ERROR_CATALOGUE[code].message}: ${error.message}`);
  if (REDIS_UNAVAILABLE_ERRORS.has(error.name)) return new AppError('SERVICE_UNAVAILABLE');
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return new AppError('VALIDATION_FAILED', error.message);
  }
  return null;
}

/** The client closed the connection mid-request (Node's "aborted"): its fault, and nobody is left to answer. */
function clientWentAway(error: FastifyError, request: FastifyRequest): AppError | null {
  if (error.code !== 'ECONNRESET' || !request.raw.destroyed) return null;
  return new AppError('MALFORMED_REQUEST', `${ERROR_CATALOGUE.MALFORMED_REQUEST.message}: the client closed the connection before the request was complete`);
}

/**
 * One place turns every error into `{ error: { code, message, details? } }`. Errors we
 * raised on purpose keep their message; anything unexpected becomes a 500 that says only
 * the request id, and its cause goes to the log under that id. It is also Fastify's
 * `frameworkErrors` option: the router rejects a malformed or over-long URL before any
 * route or error handler runs.
 */
export function replyWithError(error: FastifyError | AppError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, body } = errorAnswer(error, request, reply);
  return reply.code(status).send(body);
}

/**
 * What an error means for the client: its status and our error body, with any Retry-After set
 * on the reply and the cause of a 5xx logged under the request id. Routes that speak another protocol's error shape
 * (the KServe v2 routes) send their own body from it.
 */
export function errorAnswer(error: FastifyError | AppError, request: FastifyRequest, reply: FastifyReply): { status: number; body: ErrorResponse } {
  const gone = clientWentAway(error as FastifyError, request);
  if (gone) request.log.info('the client closed the connection mid-request');
  const known = gone ?? toAppError(error as FastifyError, request);
  if (!known || known.status >= 500) request.log.error({ err: error }, 'request failed');
  const retryAfter = known?.details?.retryAfterSeconds;
  if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
  return { status: known?.status ?? ERROR_CATALOGUE.INTERNAL.status, body: errorBody(known, request.id) };
}

function errorBody(known: AppError | null, requestId: string): ErrorResponse {
  return known
    ? { error: { code: known.code, message: known.message, ...(known.details && { details: known.details }) } }
    : { error: { code: 'INTERNAL', message: `${ERROR_CATALOGUE.INTERNAL.message} (request id ${requestId})` } };
}

/** Methods a route may answer; the 405 lists those the path has. */
const METHODS: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

function notFound(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = request.url.split('?')[0];
  const allowed = METHODS.filter((method) => method !== request.method && app.findRoute({ method, url: path }) !== null);
  const where = `${request.method} ${path.slice(0, 200)}`;
  if (allowed.length === 0) return replyWithError(new AppError('ROUTE_NOT_FOUND', `${ERROR_CATALOGUE.ROUTE_NOT_FOUND.message}: ${where}`), request, reply);
  reply.header('allow', allowed.join(', '));
  return replyWithError(new AppError('METHOD_NOT_ALLOWED', `${where}: this path accepts ${allowed.join(', ')}`, { allow: allowed }), request, reply);
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler<FastifyError>(replyWithError);
  app.setNotFoundHandler((request, reply) => notFound(app, request, reply));
}

/**
 * Node's `_httpMessage` is the response the socket is writing, if any: once its head is out,
 * a second answer would corrupt the stream, so the socket is only closed.
 */
function responseStarted(socket: Socket): boolean {
  return (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage?.headersSent === true;
}

/** A request line over the URL limit fills the header buffer on its own: that is a 414, not a 431. */
function isRequestLineOverflow(error: Error & { rawPacket?: Buffer }, maxUrlBytes: number): boolean {
  const packet = error.rawPacket?.toString('latin1') ?? '';
  const lineEnd = packet.indexOf('\n');
  return REQUEST_LINE_START.test(packet) && (lineEnd < 0 ? packet.length : lineEnd) > maxUrlBytes;
}

function clientErrorOf(error: Error & { code?: string }, maxUrlBytes: number): AppError {
  if (error.code === 'HPE_HEADER_OVERFLOW' && isRequestLineOverflow(error, maxUrlBytes)) {
    return new AppError('URL_TOO_LONG', `The request line is over the URL limit of ${maxUrlBytes} bytes; send long data in a body`, { maxBytes: maxUrlBytes });
  }
  const known = (error.code && PARSER_ERRORS[error.code]) || { code: 'MALFORMED_REQUEST' as const, message: error.message };
  return new AppError(known.code, `${ERROR_CATALOGUE[known.code].message}: ${known.message}`, { parserCode: error.code });
}

/**
 * Answers on the raw socket, in our shape, and closes the connection: for requests no route
 * will see. Nothing of the request is logged but the error's code, as its bytes may hold a key.
 */
export function replyOnSocket(log: FastifyBaseLogger, socket: Socket, error: AppError, cause: string | undefined): void {
  log.info({ code: cause, status: error.status }, 'refused a request before routing');
  if (!socket.writable || responseStarted(socket)) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(errorBody(error, ''));
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Fastify's `clientErrorHandler`: Node's HTTP parser rejected the bytes, or a timeout fired, before any route ran. */
export function clientErrorHandler(maxUrlBytes: number) {
  return function replyToClientError(this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    replyOnSocket(this.log, socket, clientErrorOf(error, maxUrlBytes), error.code);
  };
}

const CODES = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

/**
 * For plugins that answer errors in their own format (Bull Board's error handler sends its stack
 * as a 500): any 4xx or 5xx body in their scope that is not ours is replaced by ours, under the
 * first catalogue code of its status.
 */
export function keepOurErrorShape(scope: FastifyInstance): void {
  scope.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode < 400 || typeof payload !== 'string' || isOurs(payload)) return payload;
    const status = reply.statusCode;
    const code = CODES.find((candidate) => ERROR_CATALOGUE[candidate].status === status);
    reply.header('content-type', 'application/json; charset=utf-8');
    if (code && status < 500) return JSON.stringify(errorBody(new AppError(code), request.id));
    request.log.error({ status, body: payload.slice(0, 1000) }, 'a plugin failed');
    reply.code(ERROR_CATALOGUE.INTERNAL.status);
    return JSON.stringify(errorBody(null, request.id));
  });
}

function isOurs(payload: string): boolean {
  try {
    const body = JSON.parse(payload) as Partial<ErrorResponse> | null;
    return typeof body?.error?.code === 'string' && typeof body.error.message === 'string';
  } catch {
    return false;
  }
}
