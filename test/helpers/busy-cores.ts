import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpus } from 'node:os';

export interface HeldCores {
  /** When the loops stop, as a performance.now() value. */
  endsAt: number;
  /** Resolves once every loop has exited. */
  ended: Promise<void>;
}

/**
 * Holds `count` cores (all of the machine's but one, by default) with busy loops in other
 * processes for `ms` milliseconds, as other work on a shared machine does. Resolves once every
 * loop is spinning.
 */
export async function holdCores(ms: number, count = cpus().length - 1): Promise<HeldCores> {
  const loops = Array.from({ length: count }, () =>
    spawn(process.execPath, ['-e', `process.stdout.write('spinning\\n'); const end = Date.now() + ${ms}; while (Date.now() < end);`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }));
  const ended = Promise.all(loops.map((loop) => once(loop, 'exit'))).then(() => undefined);
  await Promise.all(loops.map((loop) => once(loop.stdout!, 'data')));
  return { endsAt: performance.now() + ms, ended };
}
