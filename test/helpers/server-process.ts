import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../scripts/local-redis.js';
import type { AppConfig } from '../../src/config.js';

const SERVER_ENTRY = fileURLToPath(new URL('../../src/server.js', import.meta.url));
const START_TIMEOUT_MS = 15_000;
const KILOBYTE = 1024;

/** The API in a process of its own, as production runs it: its logs, its memory, its port. */
export interface ServerProcess {
  url: string;
  port: number;
  pid: number;
  /** Everything it wrote to stdout (its pino log lines). */
  output(): string;
  /** Resident memory now, from /proc. */
  rssBytes(): number;
  stop(): Promise<void>;
}

/** Starts dist/src/server.js on a free port with the isolated config's namespaces and `env`, and waits until it listens. */
export async function startServerProcess(config: AppConfig, env: Record<string, string> = {}): Promise<ServerProcess> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [SERVER_ENTRY], {
    env: {
      PATH: process.env.PATH ?? '', PORT: String(port), LOG_LEVEL: 'info', ENABLE_DASHBOARDS: 'false',
      REDIS_PREFIX: config.REDIS_PREFIX, QUEUE_NAME: config.QUEUE_NAME, DATA_DIR: config.DATA_DIR,
      ...(config.REDIS_URL && { REDIS_URL: config.REDIS_URL }),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!output.includes('Server listening')) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`the server did not start: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? 0,
    output: () => output,
    rssBytes: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) * KILOBYTE,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
