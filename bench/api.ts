import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../scripts/local-redis.js';
import { isolatedConfig, removeIsolatedState } from '../test/helpers/service.js';
import { autocannon, describeMachine, predictBodyFile, serviceEnv, startServer, stopServers, type LoadResult } from './load.js';

/**
 * `npm run bench:api`: POST /predict on a running service against a bare Fastify route that
 * parses and echoes the same 784-pixel body, each with autocannon at 50 connections for 10 s,
 * one after the other, with the servers and the load generator in separate processes.
 */
const CONNECTIONS = 50;
const DURATION_SECONDS = 10;
const WARMUP_SECONDS = 2;
const SHAPE = (process.env.BENCH_SHAPE ?? '784,256,10').split(',').map(Number);
const TARGET_P99_MS = 2;
const TARGET_CEILING_FRACTION = 0.7;

const DIST = fileURLToPath(new URL('..', import.meta.url));

async function measure(name: string, url: string, bodyFile: string): Promise<LoadResult> {
  await autocannon(url, bodyFile, WARMUP_SECONDS, CONNECTIONS);
  const result = await autocannon(url, bodyFile, DURATION_SECONDS, CONNECTIONS);
  console.log(`${name.padEnd(34)} ${result.requestsPerSecond.toFixed(0).padStart(7)} req/s   p50 ${result.p50Ms.toFixed(2).padStart(6)} ms   p99 ${result.p99Ms.toFixed(2).padStart(6)} ms   errors ${result.errors}, non-2xx ${result.non2xx}`);
  return result;
}

async function main(): Promise<void> {
  const config = await isolatedConfig({ LOG_LEVEL: 'silent' });
  const children: ChildProcess[] = [];
  try {
    const { bodyFile, body } = await predictBodyFile(config, SHAPE);

    const [apiPort, echoPort] = [await freePort(), await freePort()];
    children.push(await startServer(join(DIST, 'src', 'server.js'), serviceEnv(config, apiPort), `http://127.0.0.1:${apiPort}/ready`));
    children.push(await startServer(join(DIST, 'bench', 'echo-server.js'), { PORT: String(echoPort) }, `http://127.0.0.1:${echoPort}/`));

    console.log(`machine: ${describeMachine()}`);
    console.log(`model [${SHAPE.join(', ')}], body ${body.length} bytes, ${CONNECTIONS} connections, ${DURATION_SECONDS} s each after ${WARMUP_SECONDS} s of warm-up; service logs at warn`);
    const ceiling = await measure('bare Fastify echo (ceiling)', `http://127.0.0.1:${echoPort}/echo`, bodyFile);
    const predict = await measure('POST /predict', `http://127.0.0.1:${apiPort}/predict`, bodyFile);

    const ratio = predict.requestsPerSecond / ceiling.requestsPerSecond;
    console.log(`ratio: /predict reaches ${(ratio * 100).toFixed(1)}% of the ceiling's req/s (target ≥ ${TARGET_CEILING_FRACTION * 100}%: ${ratio >= TARGET_CEILING_FRACTION ? 'met' : 'missed'})`);
    console.log(`p99: ${predict.p99Ms} ms (target ≤ ${TARGET_P99_MS} ms: ${predict.p99Ms <= TARGET_P99_MS ? 'met' : 'missed'}); with ${CONNECTIONS} connections in flight, p50 ≈ ${CONNECTIONS} / req/s = ${((CONNECTIONS / predict.requestsPerSecond) * 1000).toFixed(2)} ms by Little's law`);
  } finally {
    await stopServers(children);
    await removeIsolatedState(config);
  }
}

await main();
