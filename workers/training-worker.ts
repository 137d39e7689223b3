import { pino } from 'pino';
import { loadConfigOrReport } from '../src/config.js';
import { closeGracefully } from '../src/graceful-shutdown.js';
import { describeKernels } from '../src/kernels/choose-kernels.js';
import { QueueWorker, workerThreadsPerJob } from '../src/queue/queue-worker.js';

/** Long enough for a running job to finish its batch and write a checkpoint. */
const SHUTDOWN_GRACE_MS = 30_000;

const config = loadConfigOrReport() ?? process.exit(1);
const log = pino({ level: config.LOG_LEVEL, base: { role: 'worker', pid: process.pid } });
const worker = new QueueWorker(config, log);
closeGracefully({ log, graceMs: SHUTDOWN_GRACE_MS, close: () => worker.close() });
await worker.ready();
log.info({ queue: config.QUEUE_NAME, concurrency: config.WORKER_CONCURRENCY, kernels: await describeKernels(workerThreadsPerJob(config)) }, 'worker ready');
