import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Sweep } from './sweep-schema.js';
import type { SweepService } from './sweep-service.js';

/** How often the stream reads the sweep; the controller changes it at most every SWEEP_TICK_MS. */
const SWEEP_EVENTS_POLL_MS = 1000;

/**
 * Server-Sent Events: a `sweep` event with the whole sweep (leaderboard included) now and whenever
 * it changes, until it finishes or the client goes. It reads the stored sweep, so it works whichever
 * API process's controller advances it; a read that fails ends the stream, and the client reconnects.
 */
export async function streamSweepEvents(options: { id: string; sweeps: SweepService; request: FastifyRequest; reply: FastifyReply; heartbeatMs: number }): Promise<void> {
  const { id, sweeps, heartbeatMs } = options;
  let sweep: Sweep = await sweeps.get(id);
  options.reply.hijack();
  const response = options.reply.raw;
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const write = (data: Sweep): void => void response.write(`event: sweep\ndata: ${JSON.stringify(data)}\n\n`);

  let ended = false;
  const timers: NodeJS.Timeout[] = [];
  const end = (): void => {
    if (ended) return;
    ended = true;
    timers.forEach(clearInterval);
    response.end();
  };
  options.request.raw.once('close', end);
  write(sweep);
  if (sweep.state !== 'running') return end();

  timers.push(setInterval(() => response.write(': heartbeat\n\n'), heartbeatMs));
  timers.push(setInterval(() => {
    sweeps.get(id).then((next) => {
      if (ended || next.updatedAt === sweep.updatedAt) return;
      sweep = next;
      write(next);
      if (next.state !== 'running') end();
    }, (error: unknown) => {
      options.request.log.warn({ err: error }, 'could not read the sweep for its event stream');
      end();
    });
  }, SWEEP_EVENTS_POLL_MS));
}
