import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { emptyDiagnostics } from '../../src/core/diagnostics.js';
import { resolveTrainingConfig, type EpochReport, type StepReport } from '../../src/core/index.js';
import type { CheckpointRecord } from '../../src/queue/job-schema.js';
import { JobStore, type HistoryBatch } from '../../src/queue/job-store.js';
import { ProgressRecorder } from '../../src/queue/progress-recorder.js';
import { redisKeys } from '../../src/storage/redis.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const prefix = `test-recorder-${randomUUID().slice(0, 8)}`;
const keys = redisKeys(prefix);
after(async () => {
  const written = await redis.keys(`${prefix}:*`);
  if (written.length > 0) await redis.del(...written);
  redis.disconnect();
});

/**
 * A store on the real Redis whose next writes fail as they do when Redis dies mid-write: either
 * after the transaction ran (its reply lost with the connection) or before it reached Redis.
 */
class FailingWrites extends JobStore {
  readonly failures: ('after' | 'before')[] = [];

  override async appendHistory(id: string, batch: HistoryBatch): Promise<void> {
    const failure = this.failures.shift();
    if (failure === 'before') throw new Error('Connection is closed.');
    await super.appendHistory(id, batch);
    if (failure === 'after') throw new Error('Connection is closed.');
  }
}

const config = resolveTrainingConfig({ shape: [2, 2, 1], epochs: 2 }, { trainCount: 4 }).config;
const stepReport = (step: number): StepReport => ({ epoch: 1, step, stepsPerEpoch: 2, loss: 1 / step, learningRate: 0.1, samplesPerSecond: 100 });
const epochReport: EpochReport = {
  epoch: 1, epochs: 2, trainLoss: 0.5, trainAccuracy: 0.75, seconds: 0.01, samplesPerSecond: 400, learningRate: 0.1, diagnostics: emptyDiagnostics(),
};
const checkpoint: CheckpointRecord = { epoch: 1, step: 2, bytes: 64, createdAt: new Date().toISOString(), key: 'checkpoints/job/1' };

test('a history write that landed but lost its reply is not written or published again, and one that never landed is', async () => {
  const store = new FailingWrites(redis, keys);
  const id = randomUUID();
  const recorder = new ProgressRecorder(store, id, config, 0);
  const subscriber = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const events: string[] = [];
  subscriber.on('message', (_channel: string, message: string) => events.push(JSON.parse(message).type));
  await subscriber.subscribe(keys.jobEvents(id));

  store.failures.push('after');
  await recorder.step(stepReport(1));
  store.failures.push('before');
  await recorder.step(stepReport(2));
  store.failures.push('after');
  await recorder.epoch(epochReport, 2, checkpoint);

  const steps = (await redis.lrange(keys.jobSteps(id), 0, -1)).map((text) => JSON.parse(text).step);
  const epochs = (await redis.lrange(keys.jobEpochs(id), 0, -1)).map((text) => JSON.parse(text).epoch);
  assert.deepEqual(steps, [1, 2], 'every step once');
  assert.deepEqual(epochs, [1], 'the epoch once');
  assert.equal(await redis.llen(keys.jobCheckpoints(id)), 1, 'the checkpoint once');
  // A round trip on the subscriber's connection delivers every message published before it.
  await subscriber.ping();
  subscriber.disconnect();
  assert.deepEqual(events, ['step', 'step', 'epoch'], 'every event once');
});
