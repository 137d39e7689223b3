import { api } from './api.js';
import type { Dataset, EvaluateRequest, EvaluationResult, Job, Sample } from './api-types.js';
import { lineStyle, paintable } from './charts.js';
import { errorText, formatNumber, formatPercent, h, notice, show, scrollBox } from './dom.js';
import { confusionHeatmap } from './heatmap.js';
import { sampleCanvas } from './sample-image.js';

/** Points per side of a decision surface: 32² = 1024 inputs, one POST /predict at its batch limit. */
const SURFACE_SIDE = 32;
const SURFACE_PX = 256;
/** Room around the data's own range, as a share of it, so the boundary shows beyond the samples. */
const SURFACE_MARGIN = 0.25;
/** Samples drawn over the surface: enough to see XOR's four corners or a small set's clusters. */
const SURFACE_SAMPLES = 200;

/** What the finished model is evaluated on: the data its job validated on when there is some, else its training data (said so). */
function evaluationTarget(job: Job): { body: EvaluateRequest; where: string; datasetId: string } {
  if (job.validationDatasetId) return { body: { split: 'validation' }, where: 'the validation dataset', datasetId: job.validationDatasetId };
  if (job.validationSplit) return { body: { split: 'validation' }, where: `the ${formatPercent(job.validationSplit)} of the dataset held out for validation`, datasetId: job.datasetId };
  return { body: { datasetId: job.datasetId }, where: 'the training dataset (it includes the samples the model learned from)', datasetId: job.datasetId };
}

/**
 * The finished model's evaluation: accuracy, per-class precision, recall and F1, the confusion
 * matrix whose cells open their misclassified samples, and for 2-input models the decision surface.
 */
export async function showEvaluation(section: HTMLElement, job: Job, modelId: string, signal: AbortSignal): Promise<void> {
  const heading = section.firstElementChild;
  const { body, where, datasetId } = evaluationTarget(job);
  show(section, heading, h('p', {}, `Evaluating the model on ${where}…`));
  try {
    const [evaluation, dataset] = await Promise.all([
      api.post<EvaluationResult>(`/models/${modelId}/evaluate`, body, signal),
      api.get<Dataset>(`/datasets/${datasetId}`, signal),
    ]);
    const gallery = h('div', { 'aria-live': 'polite' });
    const pick = (actual: number, predicted: number) => void showMisclassified(gallery, evaluation, dataset, actual, predicted, signal);
    show(section, heading,
      h('p', {}, `On ${where}: accuracy ${formatPercent(evaluation.accuracy)}, loss ${formatNumber(evaluation.loss)}, ${evaluation.count.toLocaleString()} samples.`),
      h('div', { class: 'columns' },
        h('div', {}, h('h3', {}, 'Confusion matrix'), confusionHeatmap(evaluation.confusionMatrix, pick), gallery),
        h('div', {}, h('h3', {}, 'Per class'), perClassTable(evaluation))),
      job.config.shape[0] === 2 && await decisionSurface(job, modelId, signal));
  } catch (error) {
    if (!signal.aborted) show(section, heading, notice('error', h('p', {}, `The model could not be evaluated: ${errorText(error)}`)));
  }
}

function perClassTable(evaluation: EvaluationResult): HTMLElement {
  const row = (label: string, metrics: { precision: number; recall: number; f1: number }, support: string) => h('tr', {},
    h('th', { scope: 'row' }, label),
    h('td', { class: 'number' }, formatPercent(metrics.precision)),
    h('td', { class: 'number' }, formatPercent(metrics.recall)),
    h('td', { class: 'number' }, formatPercent(metrics.f1)),
    h('td', { class: 'number' }, support));
  return scrollBox(h('table', { 'aria-label': 'Precision, recall and F1 per class' },
    h('thead', {}, h('tr', {}, ...['Class', 'Precision', 'Recall', 'F1', 'Samples'].map((title) => h('th', { scope: 'col', class: title === 'Class' ? '' : 'number' }, title)))),
    h('tbody', {},
      ...evaluation.perClass.map((metrics, label) => row(String(label), metrics, metrics.support.toLocaleString())),
      row('Macro mean', evaluation.macro, evaluation.count.toLocaleString()))));
}

/** The samples of one confusion cell, as images (or their values for non-image data), from the listed misclassified ones. */
async function showMisclassified(gallery: HTMLElement, evaluation: EvaluationResult, dataset: Dataset, actual: number, predicted: number, signal: AbortSignal): Promise<void> {
  const listed = evaluation.misclassified.filter((sample) => sample.actual === actual && sample.predicted === predicted);
  const title = h('h4', {}, `Actual ${actual}, read as ${predicted}`);
  const count = evaluation.confusionMatrix[actual][predicted];
  const partial = listed.length < count ? h('p', { class: 'hint' }, `${listed.length} of ${count}: the evaluation lists the first ${evaluation.misclassified.length} of ${evaluation.misclassifiedCount} misclassified samples.`) : null;
  show(gallery, title, h('p', {}, 'Loading the samples…'));
  try {
    const samples = await Promise.all(listed.map((sample) => api.get<Sample>(`/datasets/${dataset.id}/samples/${sample.index}`, signal)));
    const { width, height } = dataset;
    const scale = dataset.inputKind === 'bytes' ? 1 : 255;
    show(gallery, title, partial, h('ul', { class: 'samples' }, ...samples.map((sample) => h('li', {}, h('figure', {},
      width && height ? sampleCanvas(sample, width, height, scale) : h('code', {}, sample.pixels.join(', ')),
      h('figcaption', {}, `#${sample.index}`))))));
    title.tabIndex = -1;
    title.focus();
  } catch (error) {
    if (!signal.aborted) show(gallery, title, notice('error', h('p', {}, errorText(error))));
  }
}

/**
 * For a model of two inputs, its answer over the plane: a grid sampled through POST /predict,
 * shaded by the predicted class, with the dataset's samples drawn over it.
 */
async function decisionSurface(job: Job, modelId: string, signal: AbortSignal): Promise<HTMLElement> {
  const count = Math.min(SURFACE_SAMPLES, (await api.get<Dataset>(`/datasets/${job.datasetId}`, signal)).count);
  const samples = await Promise.all(Array.from({ length: count }, (_, index) => api.get<Sample>(`/datasets/${job.datasetId}/samples/${index}`, signal)));
  const xs = samples.map((sample) => sample.pixels[0]);
  const ys = samples.map((sample) => sample.pixels[1]);
  const span = (values: number[]): [number, number] => {
    const [low, high] = [Math.min(...values), Math.max(...values)];
    const margin = Math.max(high - low, 1) * SURFACE_MARGIN;
    return [low - margin, high + margin];
  };
  const [[x0, x1], [y0, y1]] = [span(xs), span(ys)];
  const at = (i: number, low: number, high: number) => low + ((i + 0.5) / SURFACE_SIDE) * (high - low);
  const inputs = Array.from({ length: SURFACE_SIDE * SURFACE_SIDE }, (_, i) => [at(i % SURFACE_SIDE, x0, x1), at(Math.floor(i / SURFACE_SIDE), y0, y1)]);
  const { predictions } = await api.post<{ predictions: { label: number; probabilities: number[] }[] }>('/predict', { model: modelId, inputs }, signal);

  const canvas = h('canvas', {
    width: SURFACE_PX, height: SURFACE_PX, class: 'surface', role: 'img',
    'aria-label': `Decision surface over inputs ${formatNumber(x0)}…${formatNumber(x1)} by ${formatNumber(y0)}…${formatNumber(y1)}: each shade is the class the model predicts there; dots are the dataset's samples, coloured by label`,
  });
  const context = canvas.getContext('2d')!;
  const cell = SURFACE_PX / SURFACE_SIDE;
  const paint = (): void => {
    context.clearRect(0, 0, SURFACE_PX, SURFACE_PX);
    predictions.forEach((prediction, i) => {
      context.fillStyle = paintable(lineStyle(prediction.label).colour);
      // Confident regions are strong, the boundary pale: the alpha is the winning probability.
      context.globalAlpha = 0.25 + 0.45 * prediction.probabilities[prediction.label];
      // Canvas y grows downwards, the plane's upwards.
      context.fillRect((i % SURFACE_SIDE) * cell, SURFACE_PX - (Math.floor(i / SURFACE_SIDE) + 1) * cell, cell, cell);
    });
    context.globalAlpha = 1;
    for (const sample of samples) {
      const px = ((sample.pixels[0] - x0) / (x1 - x0)) * SURFACE_PX;
      const py = SURFACE_PX - ((sample.pixels[1] - y0) / (y1 - y0)) * SURFACE_PX;
      context.beginPath();
      context.arc(px, py, 6, 0, 2 * Math.PI);
      context.fillStyle = paintable(lineStyle(sample.label ?? 0).colour);
      context.fill();
      context.lineWidth = 2;
      context.strokeStyle = '#fff';
      context.stroke();
    }
  };
  paint();
  // A canvas keeps the colours it was painted with: a new colour scheme paints it again, until the view is left.
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', paint, { signal });
  const classes = new Set(predictions.map((prediction) => prediction.label));
  return h('div', {},
    h('h3', {}, 'Decision surface'),
    canvas,
    h('ul', { class: 'legend-list' }, ...[...classes].sort().map((label) => h('li', {},
      h('span', { class: 'legend-box', style: `background: ${lineStyle(label).colour}` }), `class ${label}: ${predictions.filter((p) => p.label === label).length} of ${predictions.length} grid points`))));
}
