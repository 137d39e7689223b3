/**
 * `npm run bench:storage`: the S3 blob store against the file store, in the same run, for what the
 * service writes and reads most: a 47 MB dataset (60,000 MNIST digits as .mlpd) streamed up as an
 * upload is, read back whole as a worker does, and a checkpoint of [784, 800, 10] with Adam's two
 * moment buffers (about 7.6 MB) written from memory. S3 is s3rver on loopback, writing to this
 * machine's disk like the file store: the difference is the protocol and the store, not a network.
 * Prints figures; it is not a test.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { loadConfig } from '../src/config.js';
import { readBlob, type BlobStore } from '../src/storage/blob-store.js';
import { createBlobStore } from '../src/storage/create-blob-store.js';
import { startS3Server } from '../test/helpers/s3-server.js';
import { machineLine } from './machine.js';

const MNIST_TRAIN = 60_000;
const MLPD_HEADER_BYTES = 32;
const DATASET_BYTES = MLPD_HEADER_BYTES + MNIST_TRAIN * 784 + MNIST_TRAIN;
/** Weights and biases of [784, 800, 10], and Adam's m and v beside them, as float32. */
const CHECKPOINT_BYTES = (784 * 800 + 800 + 800 * 10 + 10) * 3 * 4;
/** An upload arrives in chunks about this size. */
const CHUNK_BYTES = 64 * 1024;
const RUNS = 5;

const MB = 1e6;
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return (performance.now() - started) / 1000;
}

function chunks(bytes: Buffer): Readable {
  return Readable.from((function* () {
    for (let at = 0; at < bytes.length; at += CHUNK_BYTES) yield bytes.subarray(at, at + CHUNK_BYTES);
  })());
}

async function measure(name: string, store: BlobStore, dataset: Buffer, checkpoint: Buffer): Promise<void> {
  const upload: number[] = [];
  const read: number[] = [];
  const write: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    upload.push(await timed(() => store.put(`datasets/bench-${run}.mlpd`, chunks(dataset))));
    read.push(await timed(() => readBlob(store, `datasets/bench-${run}.mlpd`)));
    write.push(await timed(() => store.put(`checkpoints/bench/${run}.ckpt`, checkpoint)));
    await store.delete(`datasets/bench-${run}.mlpd`);
  }
  const rate = (bytes: number, seconds: number) => `${(bytes / MB / seconds).toFixed(0)} MB/s (${(seconds * 1000).toFixed(0)} ms)`;
  console.log(`${name.padEnd(12)} dataset upload ${rate(DATASET_BYTES, median(upload))}, read back ${rate(DATASET_BYTES, median(read))}, checkpoint write ${rate(CHECKPOINT_BYTES, median(write))}`);
}

console.log(machineLine());
console.log(`dataset ${(DATASET_BYTES / MB).toFixed(1)} MB streamed in ${CHUNK_BYTES / 1024} KiB chunks; checkpoint ${(CHECKPOINT_BYTES / MB).toFixed(1)} MB from memory; median of ${RUNS}\n`);
const dataset = randomBytes(DATASET_BYTES);
const checkpoint = randomBytes(CHECKPOINT_BYTES);
const root = await mkdtemp(join(tmpdir(), 'bench-storage-'));
const s3 = await startS3Server();
try {
  await measure('file store', createBlobStore(loadConfig({ DATA_DIR: join(root, 'files') })), dataset, checkpoint);
  await measure('S3 store', createBlobStore(loadConfig(s3.env('bench'))), dataset, checkpoint);
} finally {
  await s3.close();
  await rm(root, { recursive: true, force: true });
}
