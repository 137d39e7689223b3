import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { SweepService } from './sweep-service.js';
import type { SweepStore } from './sweep-store.js';

/** Running sweeps are also advanced this often, for events missed while Redis was away. */
export const SWEEP_TICK_MS = 1000;
/** Job events that can change a sweep: a new epoch (a rung reached) or a new state (a trial ended). */
const RELEVANT_EVENTS = ['{"type":"epoch"', '{"type":"state"'];

/**
 * The loop that advances every running sweep, in the API process: on every job's epoch and state
 * events (one pattern subscription), so a trial is judged as soon as its epoch is recorded, and on
 * a timer. Passes never overlap; events during a pass ask for one more. Several API processes may
 * each run one: a sweep's lock lets one of them advance it at a time. A failed pass (Redis away) is
 * logged and the next one tries again.
 */
export class SweepController {
  private timer: NodeJS.Timeout | null = null;
  private passing: Promise<void> | null = null;
  private again = false;
  private closed = false;

  constructor(
    private readonly service: SweepService,
    private readonly store: SweepStore,
    private readonly subscriber: Redis,
    private readonly jobEventsPattern: string,
    private readonly log: Pick<Logger, 'warn'>,
  ) {}

  start(): void {
    this.subscriber.on('pmessage', (_pattern: string, _channel: string, text: string) => {
      if (RELEVANT_EVENTS.some((prefix) => text.startsWith(prefix))) this.pass();
    });
    this.subscriber.psubscribe(this.jobEventsPattern).catch((error: unknown) => this.log.warn({ err: error }, 'could not subscribe to job events; sweeps advance on the timer'));
    this.timer = setInterval(() => this.pass(), SWEEP_TICK_MS);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.passing;
    this.subscriber.disconnect();
  }

  private pass(): void {
    if (this.closed) return;
    if (this.passing) {
      this.again = true;
      return;
    }
    this.passing = this.advanceAll().finally(() => {
      this.passing = null;
      if (this.again) {
        this.again = false;
        this.pass();
      }
    });
  }

  private async advanceAll(): Promise<void> {
    try {
      for (const id of await this.store.running()) await this.service.advance(id);
    } catch (error) {
      this.log.warn({ err: error }, 'could not advance the sweeps; trying again');
    }
  }
}
