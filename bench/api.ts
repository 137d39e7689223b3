import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus, freemem, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { buildApp } from '../src/app.js';
import { createServices } from '../src/api/services.js';
import type { AppConfig } from '../src/config.js';
import { QueueWorker } from '../src/queue/queue-worker.js';
import { freePort } from '../scripts/local-redis.js';
import { loadMnistDigits, MNIST_PIXELS, toIdx } from '../scripts/mnist-digits.js';
import { isolatedConfig, removeIsolatedState } from '../test/helpers/service.js';

/**
 * `npm run bench:api`: POST /predict on a running service against a bare Fastify route that
 * parses and echoes the same 784-pixel body, each with autocannon at 50 connections for 10 s,
 * one after the other, with the servers and the load generator in separate processes.
 */
const CONNECTIONS = 50;
const DURATION_SECONDS = 10;
const WARMUP_SECONDS = 2;
const TRAIN_DIGITS = 2000;
const SHAPE = (process.env.BENCH_SHAPE ?? '784,256,10').split(',').map(Number);
const TARGET_P99_MS = 2;
const TARGET_CEILING_FRACTION = 0.7;
const READY_TIMEOUT_MS = 20_000;

const DIST = fileURLToPath(new URL('..', import.meta.url));
const AUTOCANNON = createRequire(import.meta.url).resolve('autocannon/autocannon.js');

interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
}

/** Uploads digits and trains the model to serve, through the app and a worker in this process. */
async function trainModel(config: AppConfig): Promise<{ modelId: string; pixels: number[] }> {
  const app = await buildApp(config, createServices(config));
  const worker = new QueueWorker(config, pino({ level: 'silent' }));
  try {
    const digits = loadMnistDigits(TRAIN_DIGITS + 1, 7);
    const idx = toIdx(digits.pixels, digits.labels, TRAIN_DIGITS);
    const form = new FormData();
    form.append('images', new Blob([idx.images]), 'images');
    form.append('labels', new Blob([idx.labels]), 'labels');
    const upload = new Request('http://bench/', { method: 'POST', body: form });
    const payload = Buffer.from(await upload.arrayBuffer());
    const dataset = (await app.inject({ method: 'POST', url: '/datasets', payload, headers: { 'content-type': upload.headers.get('content-type') ?? '' } })).json();
    const created = (await app.inject({ method: 'POST', url: '/jobs', payload: { datasetId: dataset.id, shape: SHAPE, epochs: 2 } })).json();
    for (;;) {
      const job = (await app.inject({ method: 'GET', url: `/jobs/${created.id}` })).json();
      if (job.state === 'completed') {
        const pixels = Array.from(digits.pixels.subarray(TRAIN_DIGITS * MNIST_PIXELS, (TRAIN_DIGITS + 1) * MNIST_PIXELS));
        return { modelId: job.modelId, pixels };
      }
      if (job.state === 'failed' || job.state === 'cancelled') throw new Error(`the bench model's job ended ${job.state}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await worker.close();
    await app.close();
  }
}

async function startServer(entry: string, env: Record<string, string>, readyUrl: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [entry], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await fetch(readyUrl, { method: 'GET' }).then((response) => response.status < 500, () => false))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${entry} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return child;
}

function autocannon(url: string, bodyFile: string, seconds: number): Promise<LoadResult> {
  const args = [AUTOCANNON, '-c', String(CONNECTIONS), '-d', String(seconds), '-m', 'POST', '-H', 'content-type=application/json', '-i', bodyFile, '-j', url];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited with code ${code}`));
      const result = JSON.parse(output);
      resolve({ requestsPerSecond: result.requests.average, p50Ms: result.latency.p50, p99Ms: result.latency.p99, errors: result.errors, non2xx: result.non2xx });
    });
  });
}

async function measure(name: string, url: string, bodyFile: string): Promise<LoadResult> {
  await autocannon(url, bodyFile, WARMUP_SECONDS);
  const result = await autocannon(url, bodyFile, DURATION_SECONDS);
  console.log(`${name.padEnd(34)} ${result.requestsPerSecond.toFixed(0).padStart(7)} req/s   p50 ${result.p50Ms.toFixed(2).padStart(6)} ms   p99 ${result.p99Ms.toFixed(2).padStart(6)} ms   errors ${result.errors}, non-2xx ${result.non2xx}`);
  return result;
}

async function main(): Promise<void> {
  const config = await isolatedConfig({ LOG_LEVEL: 'silent' });
  const children: ChildProcess[] = [];
  try {
    const { modelId, pixels } = await trainModel(config);
    const bodyFile = join(config.DATA_DIR, 'predict-body.json');
    await writeFile(bodyFile, JSON.stringify({ modelId, pixels }));

    const [apiPort, echoPort] = [await freePort(), await freePort()];
    const serviceEnv = {
      PORT: String(apiPort), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ENABLE_DASHBOARDS: 'false',
      REDIS_PREFIX: config.REDIS_PREFIX, QUEUE_NAME: config.QUEUE_NAME, DATA_DIR: config.DATA_DIR,
      ...(config.REDIS_URL && { REDIS_URL: config.REDIS_URL }),
    };
    children.push(await startServer(join(DIST, 'src', 'server.js'), serviceEnv, `http://127.0.0.1:${apiPort}/ready`));
    children.push(await startServer(join(DIST, 'bench', 'echo-server.js'), { PORT: String(echoPort) }, `http://127.0.0.1:${echoPort}/`));

    const cpu = cpus();
    console.log(`machine: ${cpu[0]?.model ?? 'unknown CPU'} x ${cpu.length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB (${(freemem() / 2 ** 30).toFixed(1)} free), ${platform()} ${release()}, Node ${process.version}`);
    console.log(`model [${SHAPE.join(', ')}], body ${JSON.stringify({ modelId, pixels }).length} bytes, ${CONNECTIONS} connections, ${DURATION_SECONDS} s each after ${WARMUP_SECONDS} s of warm-up; service logs at warn`);
    const ceiling = await measure('bare Fastify echo (ceiling)', `http://127.0.0.1:${echoPort}/echo`, bodyFile);
    const predict = await measure('POST /predict', `http://127.0.0.1:${apiPort}/predict`, bodyFile);

    const ratio = predict.requestsPerSecond / ceiling.requestsPerSecond;
    console.log(`ratio: /predict reaches ${(ratio * 100).toFixed(1)}% of the ceiling's req/s (target ≥ ${TARGET_CEILING_FRACTION * 100}%: ${ratio >= TARGET_CEILING_FRACTION ? 'met' : 'missed'})`);
    console.log(`p99: ${predict.p99Ms} ms (target ≤ ${TARGET_P99_MS} ms: ${predict.p99Ms <= TARGET_P99_MS ? 'met' : 'missed'}); with ${CONNECTIONS} connections in flight, p50 ≈ ${CONNECTIONS} / req/s = ${((CONNECTIONS / predict.requestsPerSecond) * 1000).toFixed(2)} ms by Little's law`);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)))));
    await removeIsolatedState(config);
  }
}

await main();
