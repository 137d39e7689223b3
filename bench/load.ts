import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { cpus, freemem, loadavg, platform, release, totalmem } from 'node:os';
import { pino } from 'pino';
import { buildApp } from '../src/app.js';
import { createServices } from '../src/api/services.js';
import type { AppConfig } from '../src/config.js';
import { QueueWorker } from '../src/queue/queue-worker.js';
import { loadMnistDigits, MNIST_PIXELS, toIdx } from '../scripts/mnist-digits.js';

/** What the load benches share: a trained model to serve, servers in their own processes, and autocannon in another. */
const TRAIN_DIGITS = 2000;
const READY_TIMEOUT_MS = 20_000;
const AUTOCANNON = createRequire(import.meta.url).resolve('autocannon/autocannon.js');

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  requests: number;
}

/** Uploads digits and trains the model to serve, through the app and a worker in this process. */
async function trainModel(config: AppConfig, shape: number[]): Promise<{ modelId: string; pixels: number[] }> {
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
    const created = (await app.inject({ method: 'POST', url: '/jobs', payload: { datasetId: dataset.id, shape, epochs: 2 } })).json();
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

/** A trained model and a file holding one /predict body for it, for autocannon to send. */
export async function predictBodyFile(config: AppConfig, shape: number[]): Promise<{ bodyFile: string; body: string }> {
  const { modelId, pixels } = await trainModel(config, shape);
  const body = JSON.stringify({ modelId, pixels });
  const bodyFile = join(config.DATA_DIR, 'predict-body.json');
  await writeFile(bodyFile, body);
  return { bodyFile, body };
}

/** The environment of an API process on `port` that shares the config's Redis namespace and data. */
export function serviceEnv(config: AppConfig, port: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ENABLE_DASHBOARDS: 'false',
    REDIS_PREFIX: config.REDIS_PREFIX, QUEUE_NAME: config.QUEUE_NAME, DATA_DIR: config.DATA_DIR,
    ...(config.REDIS_URL && { REDIS_URL: config.REDIS_URL }),
    ...extra,
  };
}

export async function startServer(entry: string, env: Record<string, string>, readyUrl: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [entry], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await fetch(readyUrl, { method: 'GET' }).then((response) => response.status < 500, () => false))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${entry} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return child;
}

export async function stopServers(children: ChildProcess[]): Promise<void> {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)))));
}

/** autocannon in a process of its own, POSTing the JSON in `bodyFile`. */
export function autocannon(url: string, bodyFile: string, seconds: number, connections: number): Promise<LoadResult> {
  const args = [AUTOCANNON, '-c', String(connections), '-d', String(seconds), '-m', 'POST', '-H', 'content-type=application/json', '-i', bodyFile, '-j', url];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited with code ${code}`));
      const result = JSON.parse(output);
      resolve({
        requestsPerSecond: result.requests.average, p50Ms: result.latency.p50, p99Ms: result.latency.p99,
        errors: result.errors + result.timeouts, non2xx: result.non2xx, requests: result.requests.total,
      });
    });
  });
}

/** One line naming the machine and how busy it is, for the figures a bench prints. */
export function describeMachine(): string {
  const cpu = cpus();
  const load = loadavg().map((value) => value.toFixed(2)).join(' ');
  return `${cpu[0]?.model ?? 'unknown CPU'} x ${cpu.length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB (${(freemem() / 2 ** 30).toFixed(1)} free), load ${load}, ${platform()} ${release()}, Node ${process.version}`;
}
