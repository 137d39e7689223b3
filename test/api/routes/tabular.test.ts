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

  test('inputs a float32 cannot hold are 400, and inputs that overflow the model\'s sums are 422, on /predict and /v2', async () => {
    const rows = Array.from({ length: 16 }, () => XOR_INPUTS.map(([a, b], i) => `${a},${b},${XOR_LABELS[i]}`)).flat();
    const dataset = await uploadParts(service.app, [{ field: 'file', file: `a,b,label\n${rows.join('\n')}\n`, filename: 'xor.csv' }]);
    const { modelId } = await trainModel(service.app, { datasetId: dataset.id, shape: [2, 8, 2], epochs: 2, validationSplit: 0 });
    const predict = (inputs: number[][]) => service.app.inject({ method: 'POST', url: '/predict', payload: { modelId, inputs } });

    const beyond = await predict([[0, 1], [1e39, 0]]);
    assert.equal(beyond.statusCode, 400, beyond.body);
    assert.equal(beyond.json().error.code, 'INPUT_OUT_OF_RANGE');
    assert.match(beyond.json().error.message, /body\.inputs\[1\]: 1e\+39 is beyond ±3\.4e\+38, the range of the float32 numbers/);

    // Every sign of the extreme inputs: some hidden unit's sum is beyond float32 for one of them.
    const extremes = [[3e38, 3e38], [3e38, -3e38], [-3e38, 3e38], [-3e38, -3e38]];
    const overflowing = await predict([[0, 1], ...extremes]);
    assert.equal(overflowing.statusCode, 422, overflowing.body);
    assert.equal(overflowing.json().error.code, 'PREDICTION_OVERFLOWED');
    assert.match(overflowing.json().error.message, /body\.inputs\[[1-4]\]: the model's sums overflowed float32 for these values; they lie far outside the range it was trained on/);

    const infer = (data: number[]) => service.app.inject({
      method: 'POST', url: `/v2/models/${modelId}/infer`, payload: { inputs: [{ name: 'input', shape: [data.length / 2, 2], datatype: 'FP32', data }] },
    });
    const v2Beyond = await infer([1e39, 0]);
    assert.equal(v2Beyond.statusCode, 400, v2Beyond.body);
    assert.match(v2Beyond.json().error, /inputs\[0\]\.data\[0\] is 1e\+39, not a number within ±3\.4e\+38 as FP32 needs/);
    const v2Overflowing = await infer(extremes.flat());
    assert.equal(v2Overflowing.statusCode, 422, v2Overflowing.body);
    assert.match(v2Overflowing.json().error, /inputs\[0\]\.data, sample [0-3]: the model's sums overflowed float32/);
  });

  test('regression targets beyond 0..1 train with a linear output and the squared error, and cross_entropy on them is a 400', async () => {
    const lines = Array.from({ length: 200 }, (_, i) => {
      const a = ((i * 37) % 200) / 100 - 1;
      const b = ((i * 91) % 200) / 100 - 1;
      return `${a},${b},${a + b},${a * b}`;
    });
    const dataset = await uploadParts(service.app, [
      { field: 'file', file: `x1,x2,sum,product\n${lines.join('\n')}\n`, filename: 'regression.csv' },
      { field: 'targetColumns', value: 'sum,product' },
    ]);
    assert.deepEqual([dataset.numClasses, dataset.targetSize], [null, 2]);
    assert.ok(dataset.targetRange && dataset.targetRange.min < -1.5 && dataset.targetRange.max > 1.5, JSON.stringify(dataset.targetRange));

    const refused = await service.app.inject({ method: 'POST', url: '/jobs', payload: { datasetId: dataset.id, shape: [2, 16, 2], loss: 'cross_entropy' } });
    assert.equal(refused.statusCode, 400, refused.body);
    assert.equal(refused.json().error.code, 'INVALID_CONFIG');
    assert.match(refused.json().error.message, /body\.loss: cross_entropy compares probabilities in 0\.\.1, but the targets run from -[\d.]+ to [\d.]+: use the mse loss/);

    const job = await trainModel(service.app, { datasetId: dataset.id, shape: [2, 16, 2], epochs: 40 });
    assert.deepEqual([job.config.outputActivation, job.config.loss], ['linear', 'mse']);
    assert.ok(job.notes.some((note) => note.code === 'LINEAR_FOR_TARGETS'));
    assert.match(job.notes.find((note) => note.code === 'VALIDATION_HELD_OUT')?.message ?? '', /^20 of 200 samples \(10%\) are held out/);
    const last = job.history.epochs.at(-1)!;
    assert.ok(last.trainLoss >= 0 && last.trainLoss < 0.05, `the squared error fell to ${last.trainLoss}`);
  });

  test('a validation dataset or an evaluation whose targets a probability head cannot reach is a 400', async () => {
    const xorTargets = await uploadParts(service.app, [{ field: 'file', file: JSON.stringify({ inputs: XOR_INPUTS, targets: XOR_LABELS.map((label) => [label]) }), filename: 'xor.json' }]);
    const fives = await uploadParts(service.app, [{ field: 'file', file: JSON.stringify({ inputs: XOR_INPUTS, targets: XOR_INPUTS.map(() => [5]) }), filename: 'fives.json' }]);
    const refused = await service.app.inject({
      method: 'POST', url: '/jobs', payload: { datasetId: xorTargets.id, validationDatasetId: fives.id, shape: [2, 4, 1], outputActivation: 'sigmoid' },
    });
    assert.equal(refused.statusCode, 400, refused.body);
    assert.match(refused.json().error.message, /body\.outputActivation: a sigmoid output lies in 0\.\.1, but the targets run from 0 to 5/);

    const { modelId } = await trainModel(service.app, { datasetId: xorTargets.id, shape: [2, 4, 1], epochs: 5, validationSplit: 0 });
    const evaluated = await service.app.inject({ method: 'POST', url: `/models/${modelId}/evaluate`, payload: { datasetId: fives.id } });
    assert.equal(evaluated.statusCode, 400, evaluated.body);
    assert.match(evaluated.json().error.message, /body\.datasetId: model mdl_\w+ gives sigmoid probabilities in 0\.\.1, but the targets of dataset ds_\w+ run from 5 to 5/);
  });

  test('evaluating a model on inputs that overflow its sums is 422, as predicting is', async () => {
    const rows = Array.from({ length: 16 }, () => XOR_INPUTS.map(([a, b], i) => `${a},${b},${XOR_LABELS[i]}`)).flat();
    const dataset = await uploadParts(service.app, [{ field: 'file', file: `a,b,label\n${rows.join('\n')}\n`, filename: 'xor.csv' }]);
    const { modelId } = await trainModel(service.app, { datasetId: dataset.id, shape: [2, 16, 2], activation: 'relu', epochs: 2, validationSplit: 0 });
    const extremes = [[3e38, 3e38], [3e38, -3e38], [-3e38, 3e38], [-3e38, -3e38]];
    const huge = await uploadParts(service.app, [{ field: 'file', file: JSON.stringify({ inputs: extremes, labels: [0, 1, 1, 0] }), filename: 'huge.json' }]);
    const response = await service.app.inject({ method: 'POST', url: `/models/${modelId}/evaluate`, payload: { datasetId: huge.id } });
    assert.equal(response.statusCode, 422, response.body);
    assert.equal(response.json().error.code, 'PREDICTION_OVERFLOWED');
    assert.match(response.json().error.message, /body\.datasetId: the model's sums overflowed float32 on dataset ds_\w+/);
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
