import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Latency buckets from 0.5 ms to 10 s: predict lives at the low end, uploads at the high end. */
const LATENCY_BUCKETS_SECONDS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What the metrics read from the rest of the service when Prometheus scrapes. */
export interface MetricsSources {
  jobCountsByState(): Promise<Record<string, number>>;
  queueDepth(): Promise<number>;
  trainingSamplesPerSecond(): Promise<number>;
}

/** One registry per app, so several apps in one test process do not collide. */
export function createMetrics(sources: MetricsSources) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const httpRequestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });
  const predictDuration = new Histogram({
    name: 'predict_duration_seconds',
    help: 'Time spent computing predictions, without HTTP',
    labelNames: ['kind'] as const,
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });
  new Gauge({
    name: 'training_jobs',
    help: 'Training jobs by state',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      for (const [state, count] of Object.entries(await sources.jobCountsByState())) this.set({ state }, count);
    },
  });
  new Gauge({
    name: 'training_queue_depth',
    help: 'Jobs waiting in the training queue',
    registers: [registry],
    async collect() {
      this.set(await sources.queueDepth());
    },
  });
  new Gauge({
    name: 'training_samples_per_second',
    help: 'Training throughput summed over running jobs',
    registers: [registry],
    async collect() {
      this.set(await sources.trainingSamplesPerSecond());
    },
  });
  return { registry, httpRequestDuration, predictDuration };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Times every request under its route pattern (never the raw URL, which would explode the label set). */
export function installRequestMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', (request, reply, done) => {
    metrics.httpRequestDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });
}
