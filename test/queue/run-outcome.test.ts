import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TrainingOutcome } from '../../src/core/index.js';
import { jobFailure } from '../../src/queue/job-errors.js';
import type { JobSpec } from '../../src/queue/job-schema.js';
import { decideOutcome } from '../../src/queue/run-outcome.js';
import type { StopCause } from '../../src/queue/stop-cause.js';
import type { RunEnd } from '../../src/queue/thread-host.js';

const spec = {
  id: 'job_00000000000000000001',
  maxRuntimeSeconds: 60,
  config: { epochs: 20, earlyStopping: { patience: 10, minDelta: 1e-4, restoreBest: true } },
} as unknown as JobSpec;

function finished(reason: TrainingOutcome['reason'], stopCause: StopCause | null, bestEpoch: number | null = 6): RunEnd {
  const outcome: TrainingOutcome = { reason, epochsCompleted: 8, bestEpoch, best: null, restarts: 0 };
  return { kind: 'finished', outcome, stopCause, model: new Uint8Array(), checkpoint: null };
}

describe('decideOutcome: what a run\'s end means for the job', () => {
  test('a run that ends on its own completes with its reason, and says which epoch the model keeps', () => {
    for (const [reason, words] of [['completed', /ran all 20 epochs; the model keeps the weights of epoch 6/], ['early_stopped', /stopped at epoch 8 of 20: the validation loss/], ['converged', /converged at epoch 8 of 20: the training loss/]] as const) {
      const outcome = decideOutcome(spec, finished(reason, null), 2);
      assert.equal(outcome.action, 'complete');
      assert.equal(outcome.action === 'complete' && outcome.stopReason, reason);
      assert.match(outcome.action === 'complete' ? outcome.reason : '', words);
    }
  });

  test('stop and the runtime keep the model and point to resume; cancel discards; shutdown requeues', () => {
    const stop = decideOutcome(spec, finished('stopped', 'stop'), 2);
    assert.deepEqual([stop.action, stop.action === 'complete' && stop.stopReason], ['complete', 'stopped']);
    assert.match(stop.action === 'complete' ? stop.reason : '', /stopped on request at epoch 8 of 20.*POST \/jobs\/job_0+1\/resume/);
    const runtime = decideOutcome(spec, finished('stopped', 'max_runtime'), 2);
    assert.match(runtime.action === 'complete' ? runtime.reason : '', /after maxRuntimeSeconds \(60 s\) at epoch 8/);
    const cancel = decideOutcome(spec, finished('stopped', 'cancel'), 2);
    assert.deepEqual(cancel.action, 'cancel');
    assert.match(cancel.action === 'cancel' ? cancel.reason : '', /cancelled during epoch 9; its checkpoint is kept/);
    assert.equal(decideOutcome(spec, finished('stopped', 'shutdown'), 0).action, 'requeue', 'a shutdown never uses up an attempt');
  });

  test('a retryable failure retries while attempts are left, then fails; a final one fails at once', () => {
    const crash: RunEnd = { kind: 'failed', failure: jobFailure('TRAINING_CRASHED', 'the thread died') };
    assert.equal(decideOutcome(spec, crash, 1).action, 'retry');
    assert.equal(decideOutcome(spec, crash, 0).action, 'fail');
    const diverged: RunEnd = { kind: 'failed', failure: jobFailure('TRAINING_DIVERGED', 'the loss became NaN') };
    const outcome = decideOutcome(spec, diverged, 2);
    assert.equal(outcome.action, 'fail');
    assert.equal(outcome.action === 'fail' && outcome.failure.advice, 'Follow the diagnosis: lower the learning rate or change what it names, and submit a new job.');
  });
});
