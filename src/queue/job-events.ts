import type { Redis } from 'ioredis';
import type { RedisKeys } from '../storage/redis.js';
import type { JobEvent } from './job-store.js';

type Listener = (event: JobEvent) => void;

/**
 * Fans the workers' job events out to SSE clients over one Redis subscriber connection,
 * subscribing to a job's channel while at least one client listens to it.
 */
export class JobEventHub {
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(private readonly subscriber: Redis, private readonly keys: RedisKeys) {
    subscriber.on('message', (channel: string, text: string) => {
      for (const listener of this.listeners.get(channel) ?? []) listener(JSON.parse(text) as JobEvent);
    });
  }

  /** Resolves once subscribed, so no event published afterwards is missed; answers the unsubscribe function. */
  async subscribe(jobId: string, listener: Listener): Promise<() => Promise<void>> {
    const channel = this.keys.jobEvents(jobId);
    let listeners = this.listeners.get(channel);
    if (!listeners) {
      listeners = new Set();
      this.listeners.set(channel, listeners);
      await this.subscriber.subscribe(channel);
    }
    listeners.add(listener);
    return async () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.listeners.get(channel) === listeners) {
        this.listeners.delete(channel);
        await this.subscriber.unsubscribe(channel);
      }
    };
  }
}
