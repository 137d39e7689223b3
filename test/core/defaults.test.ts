import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_STEP_BUDGET, InvalidConfigError, MAX_STALL_RESTARTS, MIN_DEFAULT_EPOCHS, Predictor, Trainer, defaultValidationSplit, rangeTest,
  resolveTrainingConfig, trainingCount, type RestartReport,
} from '../../src/core/index.js';
import { splitDataset } from '../../src/data/split.js';
import { digitSplit, xorDataset } from './fixtures.js';

const XOR_TARGETS = [0, 1, 1, 0];
const SEEDS = 10;

describe('defaults that follow the data', () => {
  it('turns the step budget into epochs: thousands of full-batch steps for 4 samples, the floor for 60,000', () => {
    const xor = resolveTrainingConfig({ shape: [2, 2, 1] }, { trainCount: 4 });
    assert.equal(xor.config.epochs, DEFAULT_STEP_BUDGET);
    const mnist = resolveTrainingConfig({ shape: [784, 800, 10] }, { trainCount: 60_000 });
    assert.equal(mnist.config.epochs, MIN_DEFAULT_EPOCHS);
    assert.ok(mnist.notes.some((note) => note.code === 'EPOCHS_FROM_BUDGET' && /up to 20 epochs/.test(note.message)));
    assert.equal(resolveTrainingConfig({ shape: [2, 2, 1], epochs: 7 }, { trainCount: 4 }).notes.length, 1, 'given epochs get no budget note');
  });

  it('chooses tanh for narrow hidden layers, fresh starts for small data and augmentation for images, and says so', () => {
    const narrow = resolveTrainingConfig({ shape: [2, 2, 1] }, { trainCount: 4 });
    assert.equal(narrow.config.activation, 'tanh');
    assert.equal(narrow.config.maxRestarts, MAX_STALL_RESTARTS);
    assert.ok(narrow.notes.some((note) => note.code === 'TANH_FOR_NARROW_LAYERS'));
    assert.equal(resolveTrainingConfig({ shape: [2, 2, 1], activation: 'relu' }, { trainCount: 4 }).config.activation, 'relu', 'an asked-for activation is kept');
    const digits = resolveTrainingConfig({ shape: [784, 30, 10] }, { trainCount: 7_200, width: 28, height: 28 });
    assert.equal(digits.config.maxRestarts, 0);
    assert.deepEqual(digits.config.augment, { maxShift: 2, maxRotationDegrees: 10 });
    assert.ok(digits.notes.some((note) => note.code === 'AUGMENT_FOR_IMAGES'));
    assert.equal(resolveTrainingConfig({ shape: [784, 30, 10], augment: null }, { trainCount: 7_200, width: 28, height: 28 }).config.augment, null);
  });

  it('gives targets beyond 0..1 a linear output and the mean squared error, and refuses a head that cannot reach them', () => {
    const targetRange = { min: -1.8, max: 3.5 };
    const { config, notes } = resolveTrainingConfig({ shape: [2, 16, 2] }, { trainCount: 300, targetRange });
    assert.deepEqual([config.outputActivation, config.loss], ['linear', 'mse']);
    assert.match(notes.find((note) => note.code === 'LINEAR_FOR_TARGETS')?.message ?? '', /targets run from -1\.8 to 3\.5, beyond the 0\.\.1 of a sigmoid or softmax/);
    assert.throws(() => resolveTrainingConfig({ shape: [2, 16, 2], loss: 'cross_entropy' }, { trainCount: 300, targetRange }), (error: unknown) => {
      assert.ok(error instanceof InvalidConfigError);
      assert.equal(error.field, 'loss');
      assert.match(error.message, /cross_entropy compares probabilities in 0\.\.1, but the targets run from -1\.8 to 3\.5: use the mse loss with a linear output/);
      return true;
    });
    assert.throws(
      () => resolveTrainingConfig({ shape: [2, 16, 2], outputActivation: 'sigmoid', loss: 'mse' }, { trainCount: 300, targetRange }),
      /a sigmoid output lies in 0\.\.1, but the targets run from -1\.8 to 3\.5: use a linear output/,
    );
    // 0/1 targets, as XOR's, are probabilities: the head stays a sigmoid with cross-entropy.
    const xor = resolveTrainingConfig({ shape: [2, 4, 1] }, { trainCount: 4, targetRange: { min: 0, max: 1 } });
    assert.deepEqual([xor.config.outputActivation, xor.config.loss], ['sigmoid', 'cross_entropy']);
    assert.ok(!xor.notes.some((note) => note.code === 'LINEAR_FOR_TARGETS'));
  });

  it('holds out 10% only from datasets large enough to spare it', () => {
    assert.equal(defaultValidationSplit(4), 0);
    assert.equal(defaultValidationSplit(1000), 0.1);
    assert.equal(trainingCount(1000, 0.1), 900);
  });

  it('holds out a stratified share of every class, the same for the same seed', () => {
    const { train } = digitSplit(1000, 0, 3);
    const { train: kept, validation } = splitDataset(train, 0.1, 5);
    assert.equal(validation.count, 100);
    assert.equal(kept.count, 900);
    const count = (labels: Uint8Array) => labels.reduce((counts, label) => { counts[label]++; return counts; }, new Array<number>(10).fill(0));
    const all = count(train.labels!);
    count(validation.labels!).forEach((held, digit) => assert.ok(Math.abs(held - all[digit] / 10) < 1, `class ${digit}: ${held} of ${all[digit]}`));
    assert.deepEqual(splitDataset(train, 0.1, 5).validation.labels, validation.labels);
  });
});

describe('XOR [2, 2, 1] with only a shape, or a shape and a learning rate', () => {
  for (const learningRate of [undefined, 0.1, 0.5, 1, 'auto'] as const) {
    it(`learns all four outputs for ${SEEDS} seeds with learningRate ${learningRate ?? 'not given'}`, () => {
      for (let seed = 1; seed <= SEEDS; seed++) {
        const { config } = resolveTrainingConfig({ shape: [2, 2, 1], learningRate, seed }, { trainCount: 4 });
        const restarts: RestartReport[] = [];
        const trainer = new Trainer(config, xorDataset(), null);
        const outcome = trainer.run({ onRestart: (restart) => restarts.push(restart) });
        const predictor = new Predictor(trainer.network);
        const outputs = [[0, 0], [0, 1], [1, 0], [1, 1]].map((input) => predictor.predict(input)[0]);
        assert.deepEqual(outputs.map((output) => Number(output > 0.5)), XOR_TARGETS, `seed ${seed}: outputs ${outputs.map((o) => o.toFixed(3))}`);
        assert.equal(outcome.restarts, restarts.length);
        for (const restart of restarts) assert.ok(restart.trainAccuracy < 1, 'only a run that had not fitted the data starts again');
        assert.deepEqual(trainer.diagnostics.warnings, [], `seed ${seed}`);
      }
    });
  }

  it('says a relu XOR stuck in a local minimum is one, with advice to change the activation it uses', () => {
    const stuck = [];
    for (let seed = 1; seed <= SEEDS && stuck.length === 0; seed++) {
      const { config } = resolveTrainingConfig({ shape: [2, 2, 1], activation: 'relu', maxRestarts: 0, seed }, { trainCount: 4 });
      const trainer = new Trainer(config, xorDataset(), null);
      trainer.run();
      if (trainer.diagnostics.warnings.length > 0) stuck.push(trainer.diagnostics.warnings[0]);
    }
    assert.equal(stuck[0]?.code, 'LOCAL_MINIMUM');
    assert.equal(stuck[0]?.suggestion, 'tanh');
    assert.doesNotMatch(stuck[0]?.message ?? '', /75%.*chance level/);
  });
});

describe('learning-rate range test', () => {
  it('sweeps up to where the loss blows up and picks a tenth of the rate at its lowest', () => {
    // A loss that falls while the rate is below 0.3 and climbs steeply above it, as a real network's does.
    const search = rangeTest((rate) => (rate < 0.3 ? 1 - rate : 0.7 + 100 * (rate - 0.3)));
    assert.ok(search.curve.length < 100, 'stops once the loss has blown up');
    assert.ok(search.lowestLossAt > 0.2 && search.lowestLossAt < 1, `lowest at ${search.lowestLossAt}`);
    assert.ok(search.curve.every((point, i) => i === 0 || point.learningRate > search.curve[i - 1].learningRate), 'the rate grows geometrically');
    assert.ok(Math.abs(search.chosen - search.lowestLossAt / 10) / search.chosen < 0.05, `chosen ${search.chosen}`);
  });

  it('on digits, trains from the same start as a run given the chosen rate, bit for bit', () => {
    const { train } = digitSplit(600, 0);
    const auto = resolveTrainingConfig({ shape: [784, 32, 10], learningRate: 'auto', epochs: 2 }, { trainCount: 600 }).config;
    const searched = new Trainer(auto, train, null);
    assert.ok(searched.learningRateSearch && searched.learningRateSearch.curve.length > 10);
    searched.run();
    const given = new Trainer({ ...auto, learningRate: searched.config.learningRate }, train, null);
    given.run();
    const bytes = (params: Float32Array | Float64Array) => Buffer.from(params.buffer, params.byteOffset, params.byteLength);
    assert.ok(bytes(searched.network.params).equals(bytes(given.network.params)));
  });
});
