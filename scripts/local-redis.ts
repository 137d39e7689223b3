import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { delimiter, join } from 'node:path';

const PING_TIMEOUT_MS = 500;
const START_TIMEOUT_MS = 10_000;
const START_POLL_MS = 100;

export const REDIS_INSTALL_HINT = `redis-server is not installed and nothing answers on 127.0.0.1:6379.
Install it with:
    sudo apt-get update && sudo apt-get install -y redis-server
or point the service at a running Redis with REDIS_URL=redis://host:6379`;

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** True when a Redis server answers PING at host:port. */
export function redisAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(PING_TIMEOUT_MS, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

export function findOnPath(command: string): string | null {
  for (const folder of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(folder, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      continue;
    }
  }
  return null;
}

/**
 * A redis-server of our own, with its data and log under `dir`. It gets a process group of
 * its own so a Ctrl-C in the terminal does not stop it before the worker has checkpointed.
 */
export async function startPrivateRedis(executable: string, dir: string, port: number): Promise<ChildProcess> {
  mkdirSync(dir, { recursive: true });
  const server = spawn(executable, [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--logfile', 'redis.log',
    // AOF, fsynced every second: a crash loses at most a second of job records; BullMQ needs keys never evicted.
    '--save', '60 1', '--appendonly', 'yes', '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction',
  ], { detached: true, stdio: 'ignore' });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await redisAnswers('127.0.0.1', port))) {
    if (server.exitCode !== null) throw new Error(`redis-server exited with code ${server.exitCode}; see ${join(dir, 'redis.log')}`);
    if (Date.now() > deadline) throw new Error(`redis-server did not answer within ${START_TIMEOUT_MS} ms; see ${join(dir, 'redis.log')}`);
    await new Promise((resolve) => setTimeout(resolve, START_POLL_MS));
  }
  return server;
}
