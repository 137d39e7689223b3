import { api, LIST_PAGE_MAX } from '../api.js';
import type { DatasetList, Model, ModelList, PredictRequest, Sample, SinglePrediction } from '../api-types.js';
import { centreDigit, MNIST_SIDE } from '../digit-centring.js';
import { errorText, field, formatPercent, h, notice, show } from '../dom.js';
import { shapeText, shortId } from '../job-format.js';
import { predictHref, type Page } from '../route.js';

/** The drawing canvas in backing pixels: ten per MNIST pixel. */
const CANVAS_PX = 280;
/** How much of the answer must show below the fold's edge before it counts as in view. */
const MIN_ANSWER_VISIBLE_PX = 120;
/** About 2.5 MNIST pixels once a digit drawn across most of the box is scaled into its 20-pixel box. */
const STROKE_PX = 26;

export const predictPage: Page = async (root, route, signal) => {
  const { models } = await api.get<ModelList>(`/models?limit=${LIST_PAGE_MAX}`, signal);
  const usable = models.filter((model) => model.shape[0] === MNIST_SIDE * MNIST_SIDE);
  if (usable.length === 0) {
    show(root, h('h1', {}, 'Draw a digit'), notice('info', h('p', {},
      'There is no model for 28×28 images yet. ', h('a', { href: '#/jobs' }, 'Train one'), ' on a digits dataset, then come back.')));
    return;
  }
  const wanted = route.query.get('model');
  const modelSelect = h('select', { name: 'model' }, ...models.map((model) => h('option', {
    value: model.id,
    selected: model.id === wanted,
    disabled: !usable.includes(model),
  }, modelOption(model))));
  modelSelect.addEventListener('change', () => { history.replaceState(null, '', predictHref(modelSelect.value)); });

  const drawing = new DrawingPad();
  const preview = h('canvas', { class: 'preview', width: MNIST_SIDE, height: MNIST_SIDE, role: 'img', 'aria-label': 'The 28×28 image sent to the model' });
  const clear = h('button', { type: 'button', class: 'secondary' }, 'Clear');
  const predictButton = h('button', { type: 'button' }, 'Predict');
  const answer = h('div', { 'aria-live': 'polite' }, h('p', {}, 'Draw a digit from 0 to 9 in the box; the prediction appears when you lift the pen.'));

  const answerPanel = h('section', { class: 'panel', 'aria-labelledby': 'answer-title' }, h('h2', { id: 'answer-title' }, 'Prediction'), answer);
  /** Sends 784 pixels of 0..255; on a phone the answer sits below the drawing, so it is scrolled into view. */
  const predictPixels = async (pixels: Uint8Array) => {
    const body: PredictRequest = { modelId: modelSelect.value, pixels: Array.from(pixels), scale: '0-255' };
    try {
      show(answer, probabilityView(await api.post<SinglePrediction>('/predict', body, signal)));
      const box = answerPanel.getBoundingClientRect();
      if (box.top < 0 || box.top > window.innerHeight - MIN_ANSWER_VISIBLE_PX) answerPanel.scrollIntoView({ block: 'start', behavior: 'smooth' });
    } catch (error) {
      if (!signal.aborted) show(answer, notice('error', h('p', {}, `No prediction: ${errorText(error)}`)));
    }
  };
  const predict = async () => {
    const pixels = centreDigit(drawing.ink(), CANVAS_PX, CANVAS_PX);
    drawPreview(preview, pixels);
    if (!pixels) {
      show(answer, notice('warning', h('p', {}, 'The box is empty: draw a digit first.')));
      return;
    }
    await predictPixels(pixels);
  };
  const samplePicker = await sampleForm(signal, async (pixels) => {
    drawPreview(preview, pixels);
    await predictPixels(pixels);
  });
  drawing.onStroke = () => void predict();
  predictButton.addEventListener('click', () => void predict());
  clear.addEventListener('click', () => {
    drawing.clear();
    drawPreview(preview, null);
    show(answer, h('p', {}, 'Cleared: draw another digit.'));
  });

  show(root,
    h('h1', {}, 'Draw a digit'),
    h('div', { class: 'columns' },
      h('section', { class: 'panel', 'aria-labelledby': 'draw-title' },
        h('h2', { id: 'draw-title' }, 'Your drawing'),
        field('Model', modelSelect),
        h('div', { class: 'draw-area', style: 'margin-top: 0.75rem' },
          drawing.canvas,
          h('div', { class: 'stack' },
            h('p', { class: 'hint', style: 'margin: 0' }, 'What the model sees: scaled into 20×20 and centred by mass in 28×28, like MNIST.'),
            preview)),
        h('div', { class: 'actions' }, predictButton, clear),
        samplePicker),
      answerPanel));
};

/**
 * The keyboard's way in, and a check on real data: a digit from a stored 28×28 dataset, by its
 * index, sent as it is stored (already centred like MNIST).
 */
async function sampleForm(signal: AbortSignal, use: (pixels: Uint8Array) => Promise<void>): Promise<HTMLElement | null> {
  const { datasets } = await api.get<DatasetList>(`/datasets?limit=${LIST_PAGE_MAX}`, signal);
  const images = datasets.filter((dataset) => dataset.inputSize === MNIST_SIDE * MNIST_SIDE && dataset.inputKind === 'bytes');
  if (images.length === 0) return null;
  const datasetSelect = h('select', { name: 'sample-dataset' }, ...images.map((dataset) => h('option', { value: dataset.id }, dataset.name)));
  const indexInput = h('input', { type: 'number', name: 'sample-index', min: 0, step: 1, value: 0, inputmode: 'numeric' });
  const status = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'stack' },
    h('h3', {}, 'Or take a sample from a dataset'),
    h('div', { class: 'form-grid' }, field('Sample dataset', datasetSelect), field('Sample number', indexInput, 'From 0')),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'secondary' }, 'Predict this sample')),
    status);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    api.get<Sample>(`/datasets/${datasetSelect.value}/samples/${Number(indexInput.value)}`, signal)
      .then((sample) => {
        show(status, h('p', { class: 'hint' }, `Sample ${sample.index}, labelled ${sample.label ?? '–'}.`));
        return use(Uint8Array.from(sample.pixels));
      })
      .catch((error: unknown) => show(status, notice('error', h('p', {}, errorText(error)))));
  });
  return form;
}

function modelOption(model: Model): string {
  const accuracy = model.metrics?.valAccuracy ?? model.metrics?.trainAccuracy;
  const fits = model.shape[0] === MNIST_SIDE * MNIST_SIDE ? '' : ' (not for 28×28 images)';
  return `${shortId(model.id)} · ${shapeText(model.shape)}${accuracy === undefined ? '' : ` · ${formatPercent(accuracy)}`}${fits}`;
}

function drawPreview(canvas: HTMLCanvasElement, pixels: Uint8Array | null): void {
  const image = new ImageData(MNIST_SIDE, MNIST_SIDE);
  for (let i = 0; i < MNIST_SIDE * MNIST_SIDE; i++) {
    const grey = pixels?.[i] ?? 0;
    image.data.set([grey, grey, grey, 255], i * 4);
  }
  canvas.getContext('2d')?.putImageData(image, 0, 0);
}

/** Ten bars, one per class, each with its number; the predicted class is marked with ★ and bold. */
function probabilityView(prediction: SinglePrediction): HTMLElement {
  const { label, probabilities } = prediction;
  return h('div', {},
    h('p', { class: 'prediction' }, h('span', { class: 'visually-hidden' }, 'The model reads '), label),
    h('p', {}, `The model reads a ${label}, with probability ${formatPercent(probabilities[label])}.`),
    h('ul', { class: 'bars', 'aria-label': 'Probability of each digit' }, ...probabilities.map((probability, digit) => h('li', { class: digit === label ? 'bar-row top' : 'bar-row' },
      h('span', { class: 'bar-label' }, digit === label ? `★ ${digit}` : digit),
      h('span', { class: 'bar-track', 'aria-hidden': 'true' }, h('span', { class: 'bar-fill', style: `display: block; width: ${(probability * 100).toFixed(1)}%` })),
      h('span', { class: 'bar-value' }, formatPercent(probability))))));
}

/** A canvas to draw on with a mouse, a pen or a finger (pointer events cover all three). */
class DrawingPad {
  readonly canvas = h('canvas', {
    class: 'draw-canvas', width: CANVAS_PX, height: CANVAS_PX,
    'aria-label': 'Drawing area: draw a digit with the mouse, a pen or a finger; with a keyboard, take a sample from a dataset below',
  });
  onStroke: () => void = () => {};
  private readonly context: CanvasRenderingContext2D;
  private drawing = false;

  constructor() {
    const context = this.canvas.getContext('2d', { willReadFrequently: true });
    if (!context) throw new Error('This browser cannot draw on a canvas');
    this.context = context;
    this.clear();
    this.canvas.addEventListener('pointerdown', (event) => {
      this.drawing = true;
      this.canvas.setPointerCapture(event.pointerId);
      const [x, y] = this.point(event);
      context.beginPath();
      context.moveTo(x, y);
      context.lineTo(x, y);
      context.stroke();
    });
    this.canvas.addEventListener('pointermove', (event) => {
      if (!this.drawing) return;
      const [x, y] = this.point(event);
      context.lineTo(x, y);
      context.stroke();
    });
    const end = () => {
      if (!this.drawing) return;
      this.drawing = false;
      this.onStroke();
    };
    this.canvas.addEventListener('pointerup', end);
    this.canvas.addEventListener('pointercancel', end);
  }

  clear(): void {
    const context = this.context;
    context.fillStyle = '#fff';
    context.fillRect(0, 0, CANVAS_PX, CANVAS_PX);
    context.strokeStyle = '#000';
    context.lineWidth = STROKE_PX;
    context.lineCap = 'round';
    context.lineJoin = 'round';
  }

  /** Ink per pixel, 0..255: dark strokes on white paper, read from the red channel. */
  ink(): Uint8Array {
    const { data } = this.context.getImageData(0, 0, CANVAS_PX, CANVAS_PX);
    const ink = new Uint8Array(CANVAS_PX * CANVAS_PX);
    for (let i = 0; i < ink.length; i++) ink[i] = 255 - data[i * 4];
    return ink;
  }

  /** The pointer in canvas pixels: the canvas may be shown smaller than its backing size, inside a border. */
  private point(event: PointerEvent): [number, number] {
    const { canvas } = this;
    const box = canvas.getBoundingClientRect();
    const x = event.clientX - box.left - canvas.clientLeft;
    const y = event.clientY - box.top - canvas.clientTop;
    return [x * (CANVAS_PX / canvas.clientWidth), y * (CANVAS_PX / canvas.clientHeight)];
  }
}
