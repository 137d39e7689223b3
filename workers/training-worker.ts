import closeWithGrace from 'close-with-grace';
import { pino } from 'pino';
import { loadConfigOrReport } from '../src/config.js';
import { describeKernels } from '../src/kernels/choose-kernels.js';
import { TrainingWorker } from '../src/queue/training-worker.js';

/** Long enough for a running job to finish its batch and write a checkpoint. */
const SHUTDOWN_GRACE_MS = 30_000;

const config = loadConfigOrReport() ?? process.exit(1);
const log = pino({ level: config.LOG_LEVEL, base: { role: 'worker', pid: process.pid } });
const kernels = await describeKernels(config.TRAINING_THREADS);
const worker = new TrainingWorker(config, log);

closeWithGrace({ delay: SHUTDOWN_GRACE_MS, logger: log }, async ({ err, signal }) => {
  if (err) log.error({ err }, 'closing after an uncaught error');
  log.info({ signal }, 'worker shutting down');
  await worker.close();
});

await worker.ready();
log.info({ queue: config.QUEUE_NAME, concurrency: config.WORKER_CONCURRENCY, kernels }, 'worker ready');
