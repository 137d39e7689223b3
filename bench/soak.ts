import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../scripts/local-redis.js';
import { isolatedConfig, removeIsolatedState } from '../test/helpers/service.js';
import { autocannon, describeMachine, predictBodyFile, serviceEnv, startServer, stopServers } from './load.js';

/**
 * `npm run bench:soak`: POST /predict at 50 connections for 60 s (autocannon, a process of its
 * own) while this process uploads and deletes a dataset every second, polls a job five times a
 * second and holds its event stream open. It reports every error, the latency, and the API's RSS
 * at the start, middle and end of the run, which must stay within 10% of the start.
 */
const CONNECTIONS = 50;
const DURATION_SECONDS = 60;
const WARMUP_SECONDS = 5;
const SHAPE = [784, 256, 10];
const UPLOAD_EVERY_MS = 1000;
const POLL_EVERY_MS = 200;
const HEARTBEAT_MS = 1000;
const RSS_SAMPLE_MS = 1000;
const MAX_RSS_DRIFT = 0.1;
const MEGABYTE = 1024 * 1024;

const DIST = fileURLToPath(new URL('..', import.meta.url));

function rssBytes(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
}

/** The traffic beside /predict: what it sent and every answer that was not the one expected. */
interface SideLoad {
  uploads: number;
  polls: number;
  heartbeats: number;
  errors: string[];
  stop(): Promise<void>;
}

function startSideLoad(base: string, jobId: string): SideLoad {
  const load: SideLoad = { uploads: 0, polls: 0, heartbeats: 0, errors: [], stop: async () => {} };
  let running = true;
  const fail = (what: string) => load.errors.length < 20 && load.errors.push(what);

  const uploads = (async () => {
    while (running) {
      const form = new FormData();
      // Content unique to each upload, so every one is parsed and stored, then deleted.
      form.append('file', new Blob([`${load.uploads % 10},${Date.now() % 256},1\n1,0,${load.uploads % 256}\n`]), 'soak.csv');
      const created = await fetch(`${base}/datasets`, { method: 'POST', body: form });
      const dataset = (await created.json()) as { id?: string };
      if (created.status !== 201 || !dataset.id) fail(`upload answered ${created.status}`);
      else if ((await fetch(`${base}/datasets/${dataset.id}`, { method: 'DELETE' })).status !== 204) fail('delete failed');
      load.uploads++;
      await new Promise((resolve) => setTimeout(resolve, UPLOAD_EVERY_MS));
    }
  })();
  const polls = (async () => {
    while (running) {
      const response = await fetch(`${base}/jobs/${jobId}`);
      if (response.status !== 200) fail(`poll answered ${response.status}`);
      await response.arrayBuffer();
      load.polls++;
      await new Promise((resolve) => setTimeout(resolve, POLL_EVERY_MS));
    }
  })();
  const stream = request(`${base}/jobs/${jobId}/events`, (response) => {
    response.on('data', (chunk: Buffer) => (load.heartbeats += (chunk.toString().match(/: heartbeat/g) ?? []).length));
    response.on('close', () => running && fail('the event stream closed early'));
  });
  stream.on('error', (error) => running && fail(`event stream: ${error.message}`));
  stream.end();

  load.stop = async () => {
    running = false;
    stream.destroy();
    await Promise.all([uploads, polls]);
  };
  return load;
}

async function main(): Promise<void> {
  const config = await isolatedConfig({ LOG_LEVEL: 'silent' });
  const children: ChildProcess[] = [];
  try {
    const { bodyFile } = await predictBodyFile(config, SHAPE);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const api = await startServer(join(DIST, 'src', 'server.js'), serviceEnv(config, port, { SSE_HEARTBEAT_MS: String(HEARTBEAT_MS) }), `${base}/ready`);
    children.push(api);
    // A job no worker picks up: its record is polled and its event stream stays open with heartbeats.
    const datasets = (await (await fetch(`${base}/datasets`)).json()) as { datasets: { id: string }[] };
    const job = (await (await fetch(`${base}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ datasetId: datasets.datasets[0].id, shape: SHAPE }) })).json()) as { id: string };

    console.log(`machine: ${describeMachine()}`);
    console.log(`POST /predict, model [${SHAPE.join(', ')}], ${CONNECTIONS} connections for ${DURATION_SECONDS} s after ${WARMUP_SECONDS} s of warm-up; beside it an upload and delete every ${UPLOAD_EVERY_MS} ms, a job poll every ${POLL_EVERY_MS} ms and one event stream (heartbeat ${HEARTBEAT_MS} ms)`);
    await autocannon(`${base}/predict`, bodyFile, WARMUP_SECONDS, CONNECTIONS);

    const side = startSideLoad(base, job.id);
    const rss: number[] = [];
    const sampler = setInterval(() => rss.push(rssBytes(api.pid ?? 0)), RSS_SAMPLE_MS);
    rss.push(rssBytes(api.pid ?? 0));
    const result = await autocannon(`${base}/predict`, bodyFile, DURATION_SECONDS, CONNECTIONS);
    clearInterval(sampler);
    rss.push(rssBytes(api.pid ?? 0));
    await side.stop();

    const [start, middle, end] = [rss[0], rss[Math.floor(rss.length / 2)], rss[rss.length - 1]];
    const drift = Math.max(...[middle, end].map((value) => Math.abs(value - start) / start));
    const errors = result.errors + result.non2xx + side.errors.length;
    console.log(`/predict: ${result.requests} requests, ${result.requestsPerSecond.toFixed(0)} req/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, errors ${result.errors}, non-2xx ${result.non2xx}`);
    console.log(`beside it: ${side.uploads} uploads (each deleted), ${side.polls} job polls, ${side.heartbeats} event-stream heartbeats, ${side.errors.length} errors${side.errors.length ? `: ${side.errors.join('; ')}` : ''}`);
    console.log(`API RSS: start ${(start / MEGABYTE).toFixed(0)} MB, middle ${(middle / MEGABYTE).toFixed(0)} MB, end ${(end / MEGABYTE).toFixed(0)} MB (peak ${(Math.max(...rss) / MEGABYTE).toFixed(0)} MB); drift ${(drift * 100).toFixed(1)}% (flat within ${MAX_RSS_DRIFT * 100}%: ${drift <= MAX_RSS_DRIFT ? 'yes' : 'no'})`);
    console.log(`errors in total: ${errors}`);
    console.log(`machine afterwards: ${describeMachine()}`);
    if (errors > 0 || drift > MAX_RSS_DRIFT) process.exitCode = 1;
  } finally {
    await stopServers(children);
    await removeIsolatedState(config);
  }
}

await main();
