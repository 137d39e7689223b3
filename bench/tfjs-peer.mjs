// The TensorFlow.js peer for `npm run bench:core`: trains 784-800-10 relu/softmax with
// SGD momentum on generated data for a number of batches and prints one JSON line.
// Usage: node bench/tfjs-peer.mjs <cpu|wasm> <batches> <batchSize>
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

const [backend = 'wasm', batchesArg = '50', batchSizeArg = '64'] = process.argv.slice(2);
const batches = Number(batchesArg);
const batchSize = Number(batchSizeArg);
const WARMUP_BATCHES = 3;

await tf.setBackend(backend);
await tf.ready();

const model = tf.sequential({
  layers: [
    tf.layers.dense({ inputShape: [784], units: 800, activation: 'relu', kernelInitializer: 'heNormal' }),
    tf.layers.dense({ units: 10, kernelInitializer: 'glorotUniform' }),
  ],
});
const optimizer = tf.train.momentum(0.05, 0.9);

// Generated data, like the core bench's: pixels in 0..1 and random labels.
let seed = 1;
const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
const xs = tf.tensor2d(Float32Array.from({ length: batchSize * 784 }, random), [batchSize, 784]);
const ys = tf.oneHot(tf.tensor1d(Int32Array.from({ length: batchSize }, () => Math.floor(random() * 10)), 'int32'), 10).toFloat();

function step() {
  const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(ys, model.predict(xs)), true);
  const value = loss.dataSync()[0];
  loss.dispose();
  return value;
}

for (let i = 0; i < WARMUP_BATCHES; i++) step();
const started = performance.now();
for (let i = 0; i < batches; i++) step();
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ peer: `tfjs-${backend}`, backend: tf.getBackend(), batches, batchSize, seconds, samplesPerSecond: (batches * batchSize) / seconds }));
