import { Readable } from 'node:stream';
import fastifyMultipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { UploadPart } from '../data/dataset-service.js';
import { AppError, ERROR_CATALOGUE } from '../errors.js';

/** An IDX pair or one file, plus one spare so a stray part is named as unknown rather than cut off. */
const MAX_UPLOAD_FILES = 3;
const MAX_UPLOAD_FIELDS = 4;
const MAX_UPLOAD_FIELD_BYTES = 1024;

/**
 * Multipart parsing for the routes registered in `app`'s scope. The plugin adds an onRequest and
 * an onResponse hook to every request of that scope, so the upload route's plugin registers it
 * rather than the whole app: /predict should not pay for file clean-up it never needs.
 */
export async function registerMultipart(app: FastifyInstance, maxFileBytes: number): Promise<void> {
  await app.register(fastifyMultipart, {
    limits: {
      fileSize: maxFileBytes,
      files: MAX_UPLOAD_FILES,
      fields: MAX_UPLOAD_FIELDS,
      fieldSize: MAX_UPLOAD_FIELD_BYTES,
      parts: MAX_UPLOAD_FILES + MAX_UPLOAD_FIELDS,
    },
  });
}

/**
 * busboy reports a body it cannot parse (no boundary, cut off mid-part) with plain Errors;
 * the plugin's own errors carry a code that the error handler maps.
 */
function asUploadError(error: unknown): unknown {
  if (!(error instanceof Error) || 'code' in error) return error;
  return new AppError('MALFORMED_MULTIPART', `${ERROR_CATALOGUE.MALFORMED_MULTIPART.message}: ${error.message}`);
}

async function* fileChunks(file: Readable): AsyncGenerator<Buffer> {
  try {
    yield* file;
  } catch (error) {
    throw asUploadError(error);
  }
}

/** The parts of a multipart request, in arrival order, without the multipart plugin's types. */
export async function* multipartParts(request: FastifyRequest): AsyncGenerator<UploadPart> {
  try {
    for await (const part of request.parts()) {
      yield part.type === 'file'
        ? { kind: 'file', field: part.fieldname, filename: part.filename, stream: Readable.from(fileChunks(part.file), { objectMode: false }) }
        : { kind: 'field', field: part.fieldname, value: String(part.value) };
    }
  } catch (error) {
    throw asUploadError(error);
  }
}
