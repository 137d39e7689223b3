import type { FastifyBaseLogger } from 'fastify';

const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export interface GracefulShutdownOptions {
  /** A pino logger; Fastify's is one too. */
  log: FastifyBaseLogger;
  /** How long `close` may take before the process exits anyway. */
  graceMs: number;
  close(): Promise<void>;
}

/**
 * Closes once, on the first of SIGINT, SIGTERM or SIGHUP, or on an uncaught error, then exits.
 * A signal that arrives while closing is logged and ignored: Ctrl-C or a `kill` of the process
 * group reaches a child of `npm start` both directly and through its parent, and the second copy
 * must not cut short the checkpoint the first one asked for. SIGKILL stops it at once.
 */
export function closeGracefully({ log, graceMs, close }: GracefulShutdownOptions): void {
  let closing = false;
  const shutDown = (why: { signal?: string; err?: unknown }) => {
    if (closing) {
      log.info({ signal: why.signal }, 'already shutting down; send SIGKILL to stop at once');
      return;
    }
    closing = true;
    if (why.err) log.error({ err: why.err }, 'closing after an uncaught error');
    else log.info({ signal: why.signal }, 'shutting down');
    setTimeout(() => {
      log.error({ graceMs }, 'did not close in time; exiting');
      process.exit(1);
    }, graceMs).unref();
    close().then(
      () => process.exit(why.err ? 1 : 0),
      (error: unknown) => {
        log.error({ err: error }, 'could not close cleanly');
        process.exit(1);
      },
    );
  };
  for (const signal of SHUTDOWN_SIGNALS) process.on(signal, () => shutDown({ signal }));
  process.on('uncaughtException', (err) => shutDown({ err }));
  process.on('unhandledRejection', (err) => shutDown({ err }));
}
