import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, ERROR_CATALOGUE, type ErrorCode } from '../errors.js';
import type { ErrorResponse } from './schemas/errors.js';

/** Errors raised by Fastify and its plugins that the client caused, by their code. */
const FRAMEWORK_ERROR_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
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

function toAppError(error: FastifyError): AppError | null {
  if (error instanceof AppError) return error;
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

/**
 * One place turns every error into `{ error: { code, message, details? } }`. Errors we
 * raised on purpose keep their message; anything unexpected becomes a 500 that says only
 * the request id, and its cause goes to the log under that id. It is also Fastify's
 * `frameworkErrors` option: the router rejects a malformed or over-long URL before any
 * route or error handler runs.
 */
export function replyWithError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const known = toAppError(error);
  if (!known || known.status >= 500) request.log.error({ err: error }, 'request failed');
  const body: ErrorResponse = known
    ? { error: { code: known.code, message: known.message, ...(known.details && { details: known.details }) } }
    : { error: { code: 'INTERNAL', message: `${ERROR_CATALOGUE.INTERNAL.message} (request id ${request.id})` } };
  const retryAfter = known?.details?.retryAfterSeconds;
  if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
  return reply.code(known?.status ?? ERROR_CATALOGUE.INTERNAL.status).send(body);
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler<FastifyError>(replyWithError);

  app.setNotFoundHandler((request, reply) => {
    const body: ErrorResponse = {
      error: { code: 'ROUTE_NOT_FOUND', message: `${ERROR_CATALOGUE.ROUTE_NOT_FOUND.message}: ${request.method} ${request.url}` },
    };
    return reply.code(404).send(body);
  });
}
