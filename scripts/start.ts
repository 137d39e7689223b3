import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigOrReport } from '../src/config.js';
import { findOnPath, REDIS_INSTALL_HINT, redisAnswers, startPrivateRedis } from './local-redis.js';

/**
 * `npm start`: the API and one worker as child processes in this process group, plus a
 * private redis-server under DATA_DIR when REDIS_URL is unset and nothing answers on 6379.
 * With `--demo`, the demo runs against the API once it is ready.
 */
const DEFAULT_REDIS_PORT = 6379;
const DIST = fileURLToPath(new URL('..', import.meta.url));
const ENTRIES = {
  api: join(DIST, 'src', 'server.js'),
  worker: join(DIST, 'workers', 'training-worker.js'),
  demo: join(DIST, 'scripts', 'demo.js'),
};

const config = loadConfigOrReport() ?? process.exit(1);
const log = (message: string) => console.log(`[start] ${message}`);

let redis: ChildProcess | null = null;
if (!config.REDIS_URL && !(await redisAnswers('127.0.0.1', DEFAULT_REDIS_PORT))) {
  const executable = findOnPath('redis-server');
  if (!executable) {
    console.error(REDIS_INSTALL_HINT);
    process.exit(1);
  }
  const dir = resolve(config.DATA_DIR, 'redis');
  redis = await startPrivateRedis(executable, dir, DEFAULT_REDIS_PORT);
  log(`started a private redis-server on 127.0.0.1:${DEFAULT_REDIS_PORT} with its data in ${dir}`);
}

const children = new Map<'api' | 'worker', ChildProcess>();
let demo: ChildProcess | null = null;
let stopping = false;

function run(name: 'api' | 'worker'): void {
  const child = spawn(process.execPath, [ENTRIES[name]], { stdio: 'inherit', env: process.env });
  children.set(name, child);
  child.once('exit', (code, signal) => {
    children.delete(name);
    if (!stopping) {
      log(`the ${name} exited (${signal ?? `code ${code}`}); stopping the rest`);
      process.exitCode = 1;
      stop('SIGTERM');
    }
    if (children.size === 0) void finish();
  });
}

/**
 * Passes the first signal on to every child. A Ctrl-C or a kill of the process group reaches the
 * children directly as well; they close once and ignore the copy, so the worker checkpoints its
 * running job exactly once whichever way the signal came.
 */
function stop(signal: NodeJS.Signals): void {
  if (stopping) return;
  stopping = true;
  demo?.kill('SIGTERM');
  for (const child of children.values()) child.kill(signal);
}

/** Once the API and the worker are gone, the private Redis goes too. */
async function finish(): Promise<void> {
  if (redis && redis.exitCode === null) {
    redis.kill('SIGTERM');
    await new Promise((done) => redis?.once('exit', done));
    log('private redis-server stopped');
  }
  process.exit();
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => stop(signal));

run('api');
run('worker');
if (process.argv.includes('--demo')) {
  const url = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${config.PORT}`;
  demo = spawn(process.execPath, [ENTRIES.demo], { stdio: 'inherit', env: { ...process.env, API_URL: url } });
  demo.once('exit', (code) => {
    if (stopping) return;
    log(code === 0 ? `demo done; the service keeps running at ${url} (API docs at ${url}/docs). Ctrl-C stops it.` : `the demo failed (code ${code})`);
  });
}
