import { closeSync, openSync, readSync } from 'node:fs';

const LOADAVG = '/proc/loadavg';

/**
 * How many threads the machine's scheduler has runnable at this moment, from Linux's
 * /proc/loadavg, whose fourth field is "runnable/existing" (the reading thread counts as one).
 * native/src/runnable-threads.cc reads it the same way for the native team.
 */
export class RunnableThreads {
  /** Open for the object's life: each read at offset 0 regenerates the file, one system call. */
  private fd: number | null;
  private readonly text = Buffer.alloc(128);

  constructor(path = LOADAVG) {
    try {
      this.fd = openSync(path, 'r');
    } catch {
      this.fd = null;
    }
  }

  /** The count now, or null where the system does not say (not Linux, or /proc not mounted). */
  count(): number | null {
    if (this.fd === null) return null;
    // "0.41 0.19 0.07 2/139 9961\n"
    const length = readSync(this.fd, this.text, 0, this.text.length, 0);
    const match = /^\S+ \S+ \S+ (\d+)\//.exec(this.text.toString('latin1', 0, length));
    return match === null ? null : Number(match[1]);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
