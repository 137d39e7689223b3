import type { FastifyRequest } from 'fastify';
import type { UploadPart } from '../data/dataset-service.js';

/** The parts of a multipart request, in arrival order, without the multipart plugin's types. */
export async function* multipartParts(request: FastifyRequest): AsyncGenerator<UploadPart> {
  for await (const part of request.parts()) {
    yield part.type === 'file'
      ? { kind: 'file', field: part.fieldname, filename: part.filename, stream: part.file }
      : { kind: 'field', field: part.fieldname, value: String(part.value) };
  }
}
