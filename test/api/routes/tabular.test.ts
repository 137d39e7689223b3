import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { QueueWorker } from '../../../src/queue/queue-worker.js';
import { startTestWorker, trainModel } from '../../helpers/jobs.js';
import { startTestApp } from '../../helpers/service.js';
import { uploadParts, XOR_INPUTS, XOR_LABELS } from '../../helpers/uploads.js';

describe('tabular CSV through the API: the numbers a model trains on are the numbers it predicts from', () => {
  let service: Awaited<ReturnType<typeof startTestApp>>;
  let worker: QueueWorker;
  before(async () => {
    service = await startTestApp();
    worker = await startTestWorker(service.config);
  });
  after(async () => {
    await worker.close();
    await service.close();
  });

  test('XOR as a CSV with a header trains on 0 and 1, and /predict reads [1, 0] the same way', async () => {
    const rows = Array.from({ length: 16 }, () => XOR_INPUTS.map(([a, b], i) => `${a},${b},${XOR_LABELS[i]}`)).flat();
    const dataset = await uploadParts(service.app, [{ field: 'file', file: `a,b,label\n${rows.join('\n')}\n`, filename: 'xor.csv' }]);
    assert.deepEqual([dataset.inputKind, dataset.numClasses, dataset.inputSize], ['floats', 2, 2]);
    const job = await trainModel(service.app, { datasetId: dataset.id, shape: [2, 8, 2], activation: 'tanh', optimizer: 'adam', learningRate: 0.05, batchSize: 8, epochs: 60, validationSplit: 0 });
    const model = (await service.app.inject({ method: 'GET', url: `/models/${job.modelId}` })).json();
    assert.equal(model.inputKind, 'floats', 'the model records that its inputs are used as they are');
    const predicted = (await service.app.inject({ method: 'POST', url: '/predict', payload: { model: job.modelId, inputs: XOR_INPUTS } })).json();
    assert.deepEqual(predicted.predictions.map(({ label }: { label: number }) => label), XOR_LABELS);
  });

  test('upload options: a label column by name, a delimiter, targets for regression, and pixels on request', async () => {
    const species = await uploadParts(service.app, [
      { field: 'file', file: 'species|length|width\n1|-0.5|2.25\n0|1.5|"3"\n', filename: 'flowers.csv' },
      { field: 'delimiter', value: '|' },
      { field: 'labelColumn', value: 'species' },
    ]);
    assert.deepEqual([species.inputSize, species.numClasses, species.inputKind], [2, 2, 'floats']);
    const sample = (await service.app.inject({ method: 'GET', url: `/datasets/${species.id}/samples/0` })).json();
    assert.deepEqual([sample.pixels, sample.label], [[-0.5, 2.25], 1]);

    const regression = await uploadParts(service.app, [
      { field: 'file', file: 'x,y\n1,2.5\n2,4.5\n', filename: 'line.csv' },
      { field: 'targetColumns', value: 'y' },
    ]);
    assert.deepEqual([regression.numClasses, regression.targetSize], [null, 1]);

    const pixels = await uploadParts(service.app, [{ field: 'file', file: '1,0,255\n0,128,3\n', filename: 'tiny.csv' }, { field: 'inputs', value: 'pixels' }]);
    assert.equal(pixels.inputKind, 'bytes');
  });

  test('bad options are 400s that say what to send', async () => {
    const cases: Array<[Record<string, string>, string, RegExp]> = [
      [{ labelColumn: 'kind' }, 'VALIDATION_FAILED', /labelColumn: the CSV has no column "kind"; its columns are "a", "b", "label"/],
      [{ delimiter: ':' }, 'VALIDATION_FAILED', /delimiter/],
      [{ inputs: 'bytes' }, 'VALIDATION_FAILED', /inputs/],
    ];
    for (const [fields, code, message] of cases) {
      const upload = uploadParts(service.app, [{ field: 'file', file: 'a,b,label\n1,2,0\n', filename: 'x.csv' }, ...Object.entries(fields).map(([field, value]) => ({ field, value }))]);
      await assert.rejects(upload, (error: Error) => {
        const body = JSON.parse(error.message.replace(/^upload failed: /, ''));
        assert.equal(body.error.code, code);
        assert.match(body.error.message, message);
        return true;
      });
    }
  });

  test('the same rows with another numClasses are another dataset, not the old one', async () => {
    const file = { field: 'file', file: 'a,label\n1,0\n2,1\n', filename: 'two.csv' } as const;
    const first = await uploadParts(service.app, [file]);
    const again = await uploadParts(service.app, [file]);
    assert.equal(again.id, first.id);
    const wider = await uploadParts(service.app, [file, { field: 'numClasses', value: '5' }]);
    assert.notEqual(wider.id, first.id);
    assert.equal(wider.numClasses, 5);
  });
});
