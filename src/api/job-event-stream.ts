import type { FastifyReply, FastifyRequest } from 'fastify';
import type { JobEventHub } from '../queue/job-events.js';
import { FINISHED_STATES } from '../queue/job-schema.js';
import type { JobService } from '../queue/job-service.js';
import type { JobEvent } from '../queue/job-store.js';

export interface JobEventStreamOptions {
  jobId: string;
  jobs: JobService;
  hub: JobEventHub;
  request: FastifyRequest;
  reply: FastifyReply;
  heartbeatMs: number;
}

/**
 * Writes Server-Sent Events: `job` with the whole job first, then `state`, `step` and
 * `epoch` events until the job finishes or the client goes. Events that arrive while the
 * first snapshot is read are held back and sent after it, so none is lost. Until the
 * subscription stands, errors still reach the error handler; after it the reply is ours.
 */
export async function streamJobEvents(options: JobEventStreamOptions): Promise<void> {
  const { jobId, jobs, hub, heartbeatMs } = options;
  const held: JobEvent[] = [];
  let send = (event: JobEvent): void => void held.push(event);
  const unsubscribe = await hub.subscribe(jobId, (event) => send(event));
  options.reply.hijack();
  const { log } = options.request;
  const response = options.reply.raw;

  let heartbeat: NodeJS.Timeout | undefined;
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    clearInterval(heartbeat);
    unsubscribe().catch((error: unknown) => log.warn({ err: error }, 'could not unsubscribe from job events'));
    response.end();
  };
  const write = (type: string, data: unknown): void => {
    response.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  options.request.raw.once('close', end);

  const job = await jobs.get(jobId).catch((error: unknown) => {
    log.error({ err: error }, 'could not read the job for its event stream');
    return null;
  });
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  if (!job) return end();
  write('job', job);
  if (FINISHED_STATES.includes(job.state)) return end();

  heartbeat = setInterval(() => response.write(': heartbeat\n\n'), heartbeatMs);
  send = (event) => {
    write(event.type, event);
    if (event.type === 'state' && FINISHED_STATES.includes(event.transition.state)) end();
  };
  held.splice(0).forEach(send);
}
