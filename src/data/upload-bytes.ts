import { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { AppError } from '../errors.js';

const GZIP_MAGIC = [0x1f, 0x8b];

export interface UploadBytesOptions {
  /** The upload field the bytes came from, named in every error. */
  field: string;
  maxDecompressedBytes: number;
}

function isGzip(chunk: Uint8Array): boolean {
  return chunk.length >= GZIP_MAGIC.length && chunk[0] === GZIP_MAGIC[0] && chunk[1] === GZIP_MAGIC[1];
}

/** The chunks of `rest`, after a first chunk that was already read to sniff the content. */
export async function* prepend(first: Buffer, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield first;
  for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
}

/**
 * The content of an uploaded file, raw or gzip (told apart by the gzip magic bytes, not
 * the file name). Decompression stops as soon as the output passes the limit, so a gzip
 * bomb costs at most the limit; an empty file or a broken gzip stream is a 400.
 */
export async function* uploadBytes(source: AsyncIterable<Buffer>, options: UploadBytesOptions): AsyncGenerator<Buffer> {
  const { field, maxDecompressedBytes } = options;
  const iterator = source[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done || first.value.length === 0) throw new AppError('EMPTY_FILE', `${field}: the file is empty`, { field });

  const gzipped = isGzip(first.value);
  const gunzip = gzipped ? createGunzip() : null;
  const content: AsyncIterable<Buffer> = gunzip
    ? pipeline(Readable.from(prepend(first.value, iterator)), gunzip, () => {})
    : prepend(first.value, iterator);

  let total = 0;
  try {
    for await (const chunk of content) {
      total += chunk.length;
      if (total > maxDecompressedBytes) {
        throw new AppError(
          'DECOMPRESSED_TOO_LARGE',
          `${field}: the ${gzipped ? 'decompressed ' : ''}content is over the limit of ${maxDecompressedBytes} bytes`,
          { field, maxDecompressedBytes },
        );
      }
      yield chunk;
    }
  } catch (error) {
    if (gzipped && !(error instanceof AppError)) {
      throw new AppError('CORRUPT_GZIP', `${field}: the gzip data is corrupt or cut short (${(error as Error).message})`, { field });
    }
    throw error;
  } finally {
    gunzip?.destroy();
  }
  if (total === 0) throw new AppError('EMPTY_FILE', `${field}: the file is empty once decompressed`, { field });
}
