import type { FastifyInstance } from 'fastify';
import type { DatasetRecord } from '../../src/data/dataset-schema.js';
import { MNIST_PIXELS, toIdx, type MnistDigits } from './mnist.js';
import { multipartBody, type TestPart } from './multipart.js';

/** `extraHeaders` add to the multipart ones, e.g. an API key. */
export async function uploadParts(app: FastifyInstance, parts: TestPart[], extraHeaders: Record<string, string> = {}): Promise<DatasetRecord> {
  const { payload, headers } = await multipartBody(parts);
  const response = await app.inject({ method: 'POST', url: '/datasets', payload, headers: { ...headers, ...extraHeaders } });
  if (response.statusCode >= 300) throw new Error(`upload failed: ${response.body}`);
  return response.json() as DatasetRecord;
}

/** The digits from `start` to `start + count` of a seeded interleaving, uploaded as an IDX pair. */
export async function uploadDigits(app: FastifyInstance, digits: MnistDigits, start: number, count: number): Promise<DatasetRecord> {
  const pixels = digits.pixels.subarray(start * MNIST_PIXELS, (start + count) * MNIST_PIXELS);
  const idx = toIdx(pixels, digits.labels.subarray(start, start + count), count);
  return uploadParts(app, [
    { field: 'images', file: idx.images, filename: 'images-idx3-ubyte' },
    { field: 'labels', file: idx.labels, filename: 'labels-idx1-ubyte' },
  ]);
}

/** XOR, repeated so that an epoch has several batches. */
export const XOR_INPUTS = [[0, 0], [0, 1], [1, 0], [1, 1]];
export const XOR_LABELS = [0, 1, 1, 0];

export async function uploadXor(app: FastifyInstance, repeats = 32, headers: Record<string, string> = {}): Promise<DatasetRecord> {
  const dataset = {
    inputs: Array.from({ length: repeats }, () => XOR_INPUTS).flat(),
    labels: Array.from({ length: repeats }, () => XOR_LABELS).flat(),
  };
  return uploadParts(app, [{ field: 'file', file: JSON.stringify(dataset), filename: 'xor.json' }], headers);
}
