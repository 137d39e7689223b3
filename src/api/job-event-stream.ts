import type { FastifyReply, FastifyRequest } from 'fastify';
import type { JobEventHub } from '../queue/job-events.js';
import { FINISHED_STATES, type Job } from '../queue/job-schema.js';
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

/** Where an event stream stands: how many of the job's transitions, epochs and steps it has sent. */
interface HistoryLengths {
  states: number;
  epochs: number;
  steps: number;
}

/** How long a browser's EventSource waits before it reconnects, sending Last-Event-ID. */
const RECONNECT_MS = 2000;

/**
 * An event's id is where the stream stands after it: how many transitions, epochs and steps of the
 * job's history it has sent ("3.12.240"). A client that reconnects with it as Last-Event-ID gets
 * the records after those instead of the whole job again.
 */
const eventId = ({ states, epochs, steps }: HistoryLengths): string => `${states}.${epochs}.${steps}`;

function parseEventId(text: string | undefined): HistoryLengths | null {
  const match = text === undefined ? null : /^(\d{1,9})\.(\d{1,9})\.(\d{1,9})$/.exec(text);
  return match ? { states: Number(match[1]), epochs: Number(match[2]), steps: Number(match[3]) } : null;
}

const COUNTED: Record<JobEvent['type'], keyof HistoryLengths> = { state: 'states', epoch: 'epochs', step: 'steps' };

/**
 * Writes Server-Sent Events: `job` with the whole job first (or, for a client that reconnects
 * with Last-Event-ID, the records it missed), then `state`, `step` and `epoch` events until the
 * job finishes or the client goes. Events that arrive while the first snapshot is read are held
 * back and sent after it, so none is lost. Until the subscription stands, errors still reach
 * the error handler; after it the reply is ours.
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
  let sent: HistoryLengths = { states: 0, epochs: 0, steps: 0 };
  const write = (type: string, data: unknown): void => {
    response.write(`id: ${eventId(sent)}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const writeEvent = (event: JobEvent): void => {
    sent = { ...sent, [COUNTED[event.type]]: sent[COUNTED[event.type]] + 1 };
    write(event.type, event);
  };
  options.request.raw.once('close', end);

  const job = await jobs.get(jobId).catch((error: unknown) => {
    log.error({ err: error }, 'could not read the job for its event stream');
    return null;
  });
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  response.write(`retry: ${RECONNECT_MS}\n\n`);
  if (!job) return end();
  const resumeFrom = parseEventId(options.request.headers['last-event-id'] as string | undefined);
  if (resumeFrom) {
    sent = resumeFrom;
    for (const event of missedEvents(job, resumeFrom)) writeEvent(event);
  } else {
    sent = { states: job.statusTransitions.length, epochs: job.history.epochs.length, steps: job.history.steps.length };
    write('job', job);
  }
  if (FINISHED_STATES.includes(job.state)) return end();

  heartbeat = setInterval(() => response.write(': heartbeat\n\n'), heartbeatMs);
  send = (event) => {
    writeEvent(event);
    if (event.type === 'state' && FINISHED_STATES.includes(event.transition.state)) end();
  };
  held.splice(0).filter((event) => !alreadyIn(job, event)).forEach(send);
}

/** Whether an event published while the job was being read is in what was read. */
function alreadyIn(job: Job, event: JobEvent): boolean {
  switch (event.type) {
    case 'step':
      return event.step.step <= (job.history.steps.at(-1)?.step ?? -1);
    case 'epoch':
      return event.epoch.epoch <= (job.history.epochs.at(-1)?.epoch ?? 0);
    case 'state':
      return job.statusTransitions.some(({ at, state }) => at === event.transition.at && state === event.transition.state);
  }
}

/** The records after a Last-Event-ID, as the events that carried them: steps and epochs first, the state last, since a final state ends the stream. */
function missedEvents(job: Job, from: HistoryLengths): JobEvent[] {
  const progress = job.progress ?? { epoch: 0, epochs: job.config.epochs, step: 0, stepsPerEpoch: 1, loss: null, samplesPerSecond: 0, etaSeconds: null };
  const diagnostics = job.diagnostics ?? { layers: [], warnings: [] };
  return [
    ...job.history.steps.slice(from.steps).map((step): JobEvent => ({ type: 'step', step, progress })),
    ...job.history.epochs.slice(from.epochs).map((epoch): JobEvent => ({ type: 'epoch', epoch, progress, diagnostics })),
    ...job.statusTransitions.slice(from.states).map((transition): JobEvent => ({ type: 'state', transition })),
  ];
}
