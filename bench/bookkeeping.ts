/**
 * `npm run bench:bookkeeping`: what a job costs beyond its arithmetic. A 5,000-epoch XOR job
 * runs through the API, the queue and a worker with the production progress and checkpoint
 * intervals, against the same training run bare in this process (its peer: the core alone).
 * Prints figures; it is not a test.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { Trainer, resolveTrainingConfig } from '../src/core/index.js';
import { loadConfig } from '../src/config.js';
import { decodeDataset } from '../src/data/dataset-file.js';
import { readBlob } from '../src/storage/blob-store.js';
import { datasetBlobKey } from '../src/data/dataset-service.js';
import { isFinished, startTestWorker, waitForJob } from '../test/helpers/jobs.js';
import { startTestApp } from '../test/helpers/service.js';
import { uploadXor } from '../test/helpers/uploads.js';

const EPOCHS = 5_000;
const RUNS = 5;
const JOB = { shape: [2, 2, 1], epochs: EPOCHS, earlyStopping: null, maxRestarts: 0 };

const cpu = cpus();
console.log(`machine: ${cpu[0]?.model ?? 'unknown cpu'}, ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load ${loadavg().map((load) => load.toFixed(1)).join(' ')}`);
const production = loadConfig({});
const service = await startTestApp({
  PROGRESS_INTERVAL_MS: String(production.PROGRESS_INTERVAL_MS),
  CHECKPOINT_INTERVAL_MS: String(production.CHECKPOINT_INTERVAL_MS),
});
const worker = await startTestWorker(service.config);
try {
  const dataset = await uploadXor(service.app, 1);
  const data = decodeDataset(Uint8Array.from(await readBlob(service.services.blobs, datasetBlobKey(dataset.id))));
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];

  const bare: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    const { config } = resolveTrainingConfig(JOB, { trainCount: data.count });
    new Trainer(config, data, null).run();
    bare.push(performance.now() - started);
  }
  const jobTimes: number[] = [];
  let records = '';
  for (let run = 0; run < RUNS; run++) {
    const created = await service.app.inject({ method: 'POST', url: '/jobs', payload: { datasetId: dataset.id, validationSplit: 0, ...JOB } });
    const job = await waitForJob(service.app, created.json().id, isFinished, 60_000);
    if (job.state !== 'completed') throw new Error(`job ended ${job.state}: ${JSON.stringify(job.error)}`);
    jobTimes.push(Date.parse(job.finishedAt!) - Date.parse(job.startedAt!));
    records = `${job.history.epochs.length} epoch and ${job.history.steps.length} step records, ${job.checkpoints.length} checkpoints`;
  }
  console.log(`\nXOR [2, 2, 1], ${EPOCHS} epochs, progress every ${production.PROGRESS_INTERVAL_MS} ms, checkpoints every ${production.CHECKPOINT_INTERVAL_MS} ms; median of ${RUNS}`);
  console.log(`bare Trainer.run in this process: ${median(bare).toFixed(0)} ms`);
  console.log(`job through the API, queue and a worker thread (startedAt to finishedAt): ${median(jobTimes).toFixed(0)} ms (${(median(jobTimes) / median(bare)).toFixed(1)}x the bare run); ${records}`);
} finally {
  await worker.close();
  await service.close();
}
