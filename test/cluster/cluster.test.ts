import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { freePort } from '../../scripts/local-redis.js';
import type { Job } from '../../src/queue/job-schema.js';
import { loadMnistDigits, MNIST_PIXELS, toIdx } from '../helpers/mnist.js';
import { multipartBody } from '../helpers/multipart.js';
import { S3RVER_CREDENTIALS, TEST_BUCKET } from '../helpers/s3-server.js';
import { clusterHosts, type ClusterHosts } from './hosts.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const HOSTS = ['infra', 'api', 'w1', 'w2'];
const WORKERS = ['w1', 'w2'];
const JOBS = 8;
const EPOCHS = 20;
const DIGITS = 3000;
/** Digits no job trains on, for /predict. */
const HELD_OUT = 20;
/** A killed worker's lock runs out and the stalled check hands its job on within about both. */
const QUICK_RECOVERY = { JOB_LOCK_DURATION_MS: '2000', JOB_STALLED_INTERVAL_MS: '1000' };
const START_TIMEOUT_MS = 30_000;
const RUN_TIMEOUT_MS = 75_000;
const POLL_MS = 50;
/** The epochs a job on the doomed worker must have recorded before the kill, so it resumes mid-run. */
const EPOCHS_BEFORE_KILL = 3;

/** The S3 server on the infra host, from the tests' own helper. */
const S3_PROGRAM = `
const { startS3Server } = await import('./dist/test/helpers/s3-server.js');
await startS3Server({ address: process.env.ADDRESS, port: Number(process.env.PORT), directory: process.env.DIRECTORY });
console.log('ready');`;
/** The test's console cable into the API host: a Unix socket (a file, not the network) piped to the API's port there. */
const SOCKET_PROXY_PROGRAM = `
const net = require('node:net');
net.createServer((client) => {
  const api = net.connect(Number(process.env.PORT), '127.0.0.1');
  client.pipe(api).pipe(client);
  api.on('error', () => client.destroy());
  client.on('error', () => api.destroy());
}).listen(process.env.SOCKET, () => console.log('ready'));`;

interface TimelineEntry { at: number; what: string }

const startedAt = Date.now();
const timeline: TimelineEntry[] = [];
const note = (what: string, at = Date.now()): void => void timeline.push({ at: at - startedAt, what });
const cleanups: (() => Promise<void>)[] = [];

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/** Resolves with the first stdout line that `match` accepts; fails if the process exits first. */
function waitForLine(child: ChildProcess, what: string, match: (line: string) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (match(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`${what} exited with code ${code} before it was ready`)));
  });
}

/** A JSON request to the API, over its Unix socket (namespaces) or its loopback port. */
type ApiCall = (method: string, path: string, body?: Buffer | object, headers?: Record<string, string>) => Promise<{ status: number; json: any }>;

function apiClient(target: { socketPath: string } | { host: string; port: number }): ApiCall {
  return (method, path, body, headers = {}) => new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    const request = httpRequest({
      ...target, method, path,
      headers: { ...(payload && !Buffer.isBuffer(body) && { 'content-type': 'application/json' }), ...headers },
    }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString() || 'null') }));
    });
    request.on('error', reject);
    request.end(payload);
  });
}

/** Which jobs each worker host started, from its log, in order. */
class WorkerLog {
  readonly starts: { host: string; jobId: string; resumedFromEpoch: number | null }[] = [];

  follow(host: string, child: ChildProcess): void {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: { msg?: string; jobId?: string; resumedFromEpoch?: number | null };
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      if (entry.msg !== 'training started' || !entry.jobId) return;
      this.starts.push({ host, jobId: entry.jobId, resumedFromEpoch: entry.resumedFromEpoch ?? null });
      note(`${host} ${entry.resumedFromEpoch ? `resumes ${entry.jobId} from the checkpoint after epoch ${entry.resumedFromEpoch}` : `starts ${entry.jobId}`}`);
    });
  }
}

async function tempDir(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `mlp-cluster-${name}-`));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function startCluster(hosts: ClusterHosts) {
  const loopback = hosts.kind === 'loopback';
  const infra = hosts.address('infra');
  const ports = loopback
    ? { redis: await freePort(), s3: await freePort(), api: await freePort() }
    : { redis: 6379, s3: 4568, api: 3000 };
  const unique = randomUUID().slice(0, 8);
  // Redis refuses other hosts without a password (protected mode), as it should on a real network.
  const redisPassword = randomUUID();
  const shared = {
    PATH: process.env.PATH ?? '',
    REDIS_URL: `redis://:${redisPassword}@${infra}:${ports.redis}`,
    REDIS_PREFIX: `cluster-${unique}`,
    QUEUE_NAME: `training-${unique}`,
    STORAGE_URL: `s3://${TEST_BUCKET}/cluster-${unique}`,
    AWS_ENDPOINT_URL: `http://${infra}:${ports.s3}`,
    ...S3RVER_CREDENTIALS,
    PROGRESS_INTERVAL_MS: '0',
    CHECKPOINT_INTERVAL_MS: '0',
    ...QUICK_RECOVERY,
    // Node 20 is supported by this SDK release; its notice about later releases would repeat once per process.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  /** stdout is read (and must be, or a full pipe stalls the process) unless it goes to the test's output. */
  const options = (env: Record<string, string>, stdout: 'pipe' | 'inherit' = 'pipe') => ({ cwd: ROOT, env: { ...shared, ...env }, stdio: ['ignore', stdout, 'inherit'] as ('ignore' | 'pipe' | 'inherit')[] });

  const redis = hosts.spawn('infra', 'redis-server', [
    '--bind', infra, '--port', String(ports.redis), '--requirepass', redisPassword, '--save', '', '--appendonly', 'no', '--dir', await tempDir('redis'),
  ], options({}));
  const s3 = hosts.spawn('infra', process.execPath, ['--input-type=module', '-e', S3_PROGRAM], options({ ADDRESS: infra, PORT: String(ports.s3), DIRECTORY: await tempDir('s3') }));
  await Promise.all([
    waitForLine(redis, 'redis-server', (line) => /Ready to accept connections/.test(line)),
    waitForLine(s3, 'the S3 server', (line) => line === 'ready'),
  ]);
  note(`infra (${infra}): redis-server on :${ports.redis}, S3 on :${ports.s3}`);

  const apiProcess = hosts.spawn('api', process.execPath, ['dist/src/server.js'], options({
    DATA_DIR: await tempDir('api'), HOST: loopback ? '127.0.0.1' : '0.0.0.0', PORT: String(ports.api), LOG_LEVEL: 'warn',
  }, 'inherit'));
  let api: ApiCall;
  if (loopback) {
    api = apiClient({ host: '127.0.0.1', port: ports.api });
  } else {
    const socketPath = join(await tempDir('socket'), 'api.sock');
    const proxy = hosts.spawn('api', process.execPath, ['-e', SOCKET_PROXY_PROGRAM], options({ PORT: String(ports.api), SOCKET: socketPath }));
    await waitForLine(proxy, 'the socket proxy', (line) => line === 'ready');
    api = apiClient({ socketPath });
  }
  const deadline = Date.now() + START_TIMEOUT_MS;
  while ((await api('GET', '/ready').catch(() => ({ status: 0 }))).status !== 200) {
    assert.ok(apiProcess.exitCode === null && Date.now() < deadline, 'the API is not ready');
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  note(`api (${hosts.address('api')}): ready, its own DATA_DIR`);

  const log = new WorkerLog();
  for (const host of WORKERS) {
    const worker = hosts.spawn(host, process.execPath, ['dist/workers/training-worker.js'], options({
      DATA_DIR: await tempDir(host), LOG_LEVEL: 'info', WORKER_CONCURRENCY: '1', TRAINING_THREADS: '1',
    }));
    log.follow(host, worker);
    await waitForLine(worker, host, (line) => line.includes('"worker ready"'));
    note(`${host} (${hosts.address(host)}): worker ready, its own DATA_DIR`);
  }
  return { api, log };
}

async function job(api: ApiCall, id: string): Promise<Job> {
  return (await api('GET', `/jobs/${id}`)).json as Job;
}

/** Waits for the host's second job (so the jobs have spread) to be mid-run, then SIGKILLs the host. */
async function killMidJob(api: ApiCall, hosts: ClusterHosts, log: WorkerLog, host: string): Promise<{ jobId: string; epochsSeen: number }> {
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  for (;;) {
    assert.ok(Date.now() < deadline, `no job on ${host} got to epoch ${EPOCHS_BEFORE_KILL} unfinished`);
    const mine = log.starts.filter((start) => start.host === host);
    const current = mine.at(-1);
    if (current && mine.length >= 2) {
      const { state, history } = await job(api, current.jobId);
      if (state === 'running' && history.epochs.length >= EPOCHS_BEFORE_KILL && history.epochs.length < EPOCHS - 2) {
        const pids = await hosts.kill(host);
        note(`SIGKILL to every process on ${host} (pids ${pids.join(', ')}) while ${current.jobId} was at epoch ${history.epochs.length} of ${EPOCHS}`);
        return { jobId: current.jobId, epochsSeen: history.epochs.length };
      }
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

test('a cluster of hosts with no shared disk: a killed worker host\'s job resumes on the other from its S3 checkpoint', async () => {
  const hosts = await clusterHosts(HOSTS);
  cleanups.push(() => hosts.close());
  if (hosts.kind === 'loopback') console.log(`FALLBACK: ${hosts.reason}; every host runs on this machine's loopback, each with its own data directory`);
  else console.log(`network namespaces: ${HOSTS.map((host) => `${host} ${hosts.address(host)}`).join(', ')}`);
  const { api, log } = await startCluster(hosts);

  const digits = loadMnistDigits(DIGITS + HELD_OUT, 21);
  const idx = toIdx(digits.pixels.subarray(0, DIGITS * MNIST_PIXELS), digits.labels.subarray(0, DIGITS), DIGITS);
  const { payload, headers } = await multipartBody([
    { field: 'images', file: idx.images, filename: 'images-idx3-ubyte' },
    { field: 'labels', file: idx.labels, filename: 'labels-idx1-ubyte' },
  ]);
  const dataset = await api('POST', '/datasets', payload, headers);
  assert.equal(dataset.status, 201, JSON.stringify(dataset.json));
  const ids: string[] = [];
  for (let i = 0; i < JOBS; i++) {
    const created = await api('POST', '/jobs', { datasetId: dataset.json.id, shape: [784, 256, 10], epochs: EPOCHS, earlyStopping: null, seed: i });
    assert.equal(created.status, 202, JSON.stringify(created.json));
    ids.push(created.json.id);
  }
  note(`${JOBS} jobs queued through the API`);

  const killed = await killMidJob(api, hosts, log, 'w1');
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  let jobs: Job[];
  for (;;) {
    jobs = await Promise.all(ids.map((id) => job(api, id)));
    if (jobs.every((each) => ['completed', 'failed', 'cancelled'].includes(each.state))) break;
    assert.ok(Date.now() < deadline, `jobs still unfinished: ${jobs.filter((each) => each.state !== 'completed').map((each) => `${each.id} ${each.state}`).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS * 4));
  }
  for (const each of jobs) note(`${each.id} ${each.state} after ${each.history.epochs.length} epochs`, Date.parse(each.finishedAt ?? ''));

  for (const each of jobs) assert.equal(each.state, 'completed', `${each.id}: ${JSON.stringify(each.error)}`);
  for (const host of WORKERS) assert.ok(log.starts.some((start) => start.host === host), `${host} ran no job`);
  const resumed = log.starts.find((start) => start.jobId === killed.jobId && start.resumedFromEpoch !== null);
  assert.ok(resumed, `${killed.jobId} was not resumed: ${JSON.stringify(log.starts)}`);
  assert.equal(resumed.host, 'w2');
  assert.ok(resumed.resumedFromEpoch! >= killed.epochsSeen - 1, `resumed from epoch ${resumed.resumedFromEpoch}, after ${killed.epochsSeen} were recorded`);
  const killedJob = jobs.find((each) => each.id === killed.jobId)!;
  assert.deepEqual(killedJob.history.epochs.map(({ epoch }) => epoch), Array.from({ length: EPOCHS }, (_, i) => i + 1), 'the history runs through the kill without a gap or a repeat');

  let correct = 0;
  for (const each of jobs) {
    for (let i = DIGITS; i < DIGITS + HELD_OUT; i++) {
      const prediction = await api('POST', '/predict', { modelId: each.modelId, pixels: Array.from(digits.pixels.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS)) });
      assert.equal(prediction.status, 200, JSON.stringify(prediction.json));
      if (prediction.json.label === digits.labels[i]) correct++;
    }
  }
  const asked = JOBS * HELD_OUT;
  note(`the API host served /predict from all ${JOBS} models: ${correct} of ${asked} answers right on ${HELD_OUT} digits no job trained on`);
  assert.ok(correct >= asked * 0.8, `${correct} of ${asked} right`);

  timeline.sort((a, b) => a.at - b.at);
  console.log(`timeline (${hosts.kind}):\n${timeline.map(({ at, what }) => `  ${(at / 1000).toFixed(1).padStart(6)} s  ${what}`).join('\n')}`);
});
