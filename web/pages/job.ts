import { api, followEvents } from '../api.js';
import type { Dataset, EpochRecord, EvaluateRequest, EvaluationResult, Job, JobStreamEvents } from '../api-types.js';
import { LineChart, lineStyle, type Curve } from '../charts.js';
import { errorText, formatDate, formatDuration, formatNumber, formatPercent, h, notice, show } from '../dom.js';
import { MNIST_SIDE } from '../digit-centring.js';
import { confusionHeatmap } from '../heatmap.js';
import { bestAccuracyText, isFinished, learningRateText, listedBestAccuracy, progressView, shapeText, stateBadge, stepLossPoints } from '../job-format.js';
import { JobActions } from '../job-actions.js';
import { datasetHref, predictHref, type Page } from '../route.js';

/** Epoch rows shown before the rest fold away. */
const EPOCHS_LISTED = 20;

const STOP_REASON_WORDS = {
  completed: 'ran all its epochs',
  early_stopped: 'stopped early: the validation loss stopped improving',
  converged: 'converged: the training loss stopped improving',
  stopped: 'was stopped on request; the model trained so far was kept, and Resume trains on from its checkpoint',
  max_runtime: 'stopped at its time limit; the model trained so far was kept, and Resume trains on from its checkpoint',
  cancelled: 'was cancelled, so it made no model; Resume continues it from its last checkpoint',
} as const satisfies Record<NonNullable<Job['stopReason']>, string>;

export const jobPage: Page = async (root, route, signal) => {
  const id = route.path[1];
  let job = await api.get<Job>(`/jobs/${encodeURIComponent(id)}`, signal);

  const heading = h('h1', {});
  const actions = new JobActions(job, (answer) => {
    // A resumed job is a run again: draw the page afresh, with its event stream.
    if (isFinished(job.state) && !isFinished(answer.state)) {
      window.dispatchEvent(new HashChangeEvent('hashchange'));
      return;
    }
    // The event stream may already have brought a later state than this answer knew of.
    if (answer.statusTransitions.length < job.statusTransitions.length) return;
    job = { ...job, ...answer };
    renderSoon();
  });
  const summary = h('div', {});
  const connection = h('div', { 'aria-live': 'polite' });
  const lossChart = new LineChart({ title: 'Loss', xLabel: 'epoch', yLabel: 'loss (log scale)', logY: true });
  const accuracyChart = new LineChart({ title: 'Accuracy', xLabel: 'epoch', yLabel: 'accuracy', fraction: true });
  const diagnostics = h('div', {});
  const epochs = h('div', {});
  const result = h('section', { class: 'panel', 'aria-labelledby': 'result-title' }, h('h2', { id: 'result-title' }, 'Confusion matrix'));
  signal.addEventListener('abort', () => {
    lossChart.destroy();
    accuracyChart.destroy();
  });

  show(root,
    heading,
    actions.element,
    h('div', { class: 'columns' },
      h('section', { class: 'panel', 'aria-labelledby': 'status-title' }, h('h2', { id: 'status-title' }, 'Status'), summary, connection),
      h('section', { class: 'panel', 'aria-labelledby': 'diagnostics-title' }, h('h2', { id: 'diagnostics-title' }, 'Diagnostics'), diagnostics)),
    h('section', { class: 'panel', 'aria-labelledby': 'curves-title' },
      h('h2', { id: 'curves-title' }, 'Curves'),
      h('div', { class: 'columns' }, lossChart.element, accuracyChart.element)),
    h('section', { class: 'panel', 'aria-labelledby': 'epochs-title' }, h('h2', { id: 'epochs-title' }, 'Epochs'), epochs),
    result);

  const datasetName = await datasetNameOf(job.datasetId, signal);
  let frameRequested = false;
  let tablesStale = true;
  const render = () => {
    frameRequested = false;
    show(heading, `Job `, h('span', { class: 'mono' }, job.id), ' ', stateBadge(job.state));
    actions.update(job);
    show(summary, statusFacts(job, datasetName));
    // While it runs, the x axis spans the planned epochs so the curves grow to the right; after, the epochs run.
    const xMax = isFinished(job.state) ? null : job.config.epochs;
    lossChart.update(lossCurves(job), xMax);
    if (!tablesStale) return;
    tablesStale = false;
    show(diagnostics, ...diagnosticsView(job));
    show(epochs, epochsView(job));
    accuracyChart.update(accuracyCurves(job), xMax);
    result.hidden = job.state !== 'completed';
  };
  /**
   * Steps can arrive many times a second: draw at most once per frame, and redraw the tables
   * and the accuracy chart only when something other than a step changed.
   */
  const renderSoon = (stepOnly = false) => {
    tablesStale ||= !stepOnly;
    if (!frameRequested) requestAnimationFrame(render);
    frameRequested = true;
  };
  render();

  const finish = async () => {
    job = await api.get<Job>(`/jobs/${encodeURIComponent(id)}`, signal);
    renderSoon();
    if (job.state === 'completed' && job.modelId) await showEvaluation(result, job, job.modelId, signal);
  };

  if (isFinished(job.state)) {
    await finish();
    return;
  }
  const stop = followEvents<JobStreamEvents>(`/jobs/${encodeURIComponent(id)}/events`, signal, {
    job: (snapshot) => {
      job = snapshot;
      show(connection);
      renderSoon();
    },
    step: ({ step, progress }) => {
      job.history.steps.push(step);
      job.progress = progress;
      renderSoon(true);
    },
    epoch: ({ epoch, progress, diagnostics }) => {
      job.history.epochs.push(epoch);
      job.progress = progress;
      job.diagnostics = diagnostics;
      renderSoon();
    },
    state: ({ transition }) => {
      job.state = transition.state;
      job.statusTransitions.push(transition);
      renderSoon();
      if (!isFinished(transition.state)) return;
      stop();
      finish().catch((error: unknown) => show(result, notice('error', h('p', {}, errorText(error)))));
    },
  }, () => show(connection, notice('warning', h('p', {}, 'The live connection dropped; reconnecting…'))));
};

async function datasetNameOf(id: string, signal: AbortSignal): Promise<string> {
  try {
    return (await api.get<Dataset>(`/datasets/${id}`, signal)).name;
  } catch {
    return `${id} (deleted)`;
  }
}

function statusFacts(job: Job, datasetName: string): HTMLElement {
  const { config } = job;
  const facts: [string, HTMLElement | string][] = [
    ['Progress', progressView(job)],
    ['Dataset', h('a', { href: datasetHref(job.datasetId) }, datasetName)],
    ['Shape', shapeText(config.shape)],
    ['Optimizer', `${config.optimizer} (momentum ${config.momentum}), learning rate ${learningRateText(job)}, batch ${config.batchSize}, L2 ${config.l2}, dropout ${config.dropout}`],
    ['Activation', `${config.activation} hidden, ${config.outputActivation} output, ${config.loss} loss, ${config.init.kind} init`],
    ['Schedule', `${config.schedule.kind}, up to ${config.epochs} epochs, seed ${config.seed}${config.augment ? `, augmented (±${config.augment.maxShift} px, ±${config.augment.maxRotationDegrees}°)` : ''}`],
    [job.accuracyKind === 'validation' ? 'Validation accuracy' : 'Training accuracy', bestAccuracyText(listedBestAccuracy(job))],
    ['Created', formatDate(job.createdAt)],
  ];
  if (job.startedAt) facts.push(['Started', formatDate(job.startedAt)]);
  if (job.finishedAt) facts.push(['Finished', formatDate(job.finishedAt)]);
  if (job.stopReason) facts.push(['Outcome', `The job ${STOP_REASON_WORDS[job.stopReason]}.`]);
  if (job.modelId) {
    const drawable = config.shape[0] === MNIST_SIDE * MNIST_SIDE;
    facts.push(['Model', h('span', {}, h('span', { class: 'mono' }, job.modelId), drawable && ' · ', drawable && h('a', { href: predictHref(job.modelId) }, 'draw a digit for it'))]);
  }
  return h('dl', { class: 'facts' }, ...facts.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]));
}

/** What is wrong, in words: a failure with its advice, the core's warnings, and whether the loss is falling. */
function diagnosticsView(job: Job): HTMLElement[] {
  const views: HTMLElement[] = [];
  if (job.error) {
    views.push(notice('error', h('p', {}, h('strong', {}, 'Training failed: '), job.error.message), h('p', {}, h('strong', {}, 'What to try: '), job.error.advice)));
  }
  (job.diagnostics?.warnings ?? []).forEach((warning, rank) => {
    views.push(notice(warning.severity === 'info' ? 'info' : warning.severity === 'error' ? 'error' : 'warning',
      h('p', {}, h('strong', {}, rank === 0 ? 'Main cause: ' : 'Also: '), warning.message),
      h('p', {}, h('strong', {}, 'What to try: '), warning.advice, warning.field ? h('span', { class: 'mono' }, ` (${warning.field})`) : null)));
  });
  for (const note of job.notes) views.push(notice('info', h('p', {}, note.message)));
  const trend = lossTrend(job);
  if (trend) views.push(trend);
  const search = job.learningRateSearch;
  if (search) {
    views.push(h('p', {}, `Learning-rate range test: ${search.curve.length} steps; lowest loss at ${formatNumber(search.lowestLossAt)}, chosen ${formatNumber(search.chosen)}.`));
    views.push(h('div', { class: 'table-scroll' }, h('table', { 'aria-label': 'Learning-rate range test' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', class: 'number' }, 'Learning rate'), h('th', { scope: 'col', class: 'number' }, 'Smoothed loss'))),
      h('tbody', {}, ...search.curve.filter((_, i) => i % 10 === 0).map((point) => h('tr', { class: point.learningRate === search.chosen ? 'chosen' : '' },
        h('td', { class: 'number' }, formatNumber(point.learningRate)), h('td', { class: 'number' }, formatNumber(point.loss))))))));
  }
  if (views.length === 0) {
    views.push(job.diagnostics
      ? notice('success', h('p', {}, 'No problems found: gradients flow and the weights change at a healthy rate.'))
      : h('p', {}, job.state === 'queued' ? 'Diagnostics appear once training starts.' : 'No diagnostics yet.'));
  }
  const layers = job.diagnostics?.layers ?? [];
  if (layers.length > 0) {
    views.push(h('p', { class: 'hint' }, 'Per layer, over the last batch. Update ratio: weight change per step relative to the weights (the default rates move them about 1–3% per step early on).'));
    views.push(h('div', { class: 'table-scroll' }, h('table', { 'aria-label': 'Diagnostics per layer' },
      h('thead', {}, h('tr', {}, ...['Layer', 'Gradient norm', 'Update ratio', 'Saturated units', 'Dead units'].map((title) => h('th', { scope: 'col', class: title === 'Layer' ? '' : 'number' }, title)))),
      h('tbody', {}, ...layers.map((layer) => h('tr', {},
        h('th', { scope: 'row' }, layer.layer),
        h('td', { class: 'number' }, formatNumber(layer.gradientNorm)),
        h('td', { class: 'number' }, updateRatioText(layer.updateRatio)),
        h('td', { class: 'number' }, layer.saturatedFraction === null ? 'n/a' : formatPercent(layer.saturatedFraction)),
        h('td', { class: 'number' }, layer.deadFraction === null ? 'n/a' : formatPercent(layer.deadFraction))))))));
  }
  return views;
}

/** Percent with 3 significant digits; below 0.001% the exact value says nothing more than "almost none". */
function updateRatioText(ratio: number): string {
  return ratio < 1e-5 ? '< 0.001%' : `${formatNumber(ratio * 100)}%`;
}

/** Where the loss went, as a fact; what it means is the job's diagnosis above. */
function lossTrend(job: Job): HTMLElement | null {
  const records = job.history.epochs;
  if (records.length < 2) return null;
  const first = records[0].trainLoss;
  const last = records[records.length - 1];
  return h('p', {}, `The training loss went from ${formatNumber(first)} after epoch ${records[0].epoch} to ${formatNumber(last.trainLoss)} after epoch ${last.epoch}.`);
}

/** Long runs list their last epochs; the whole table is built only when asked for. */
function epochsView(job: Job): HTMLElement {
  const records = job.history.epochs;
  if (records.length === 0) return h('p', {}, 'No epoch has finished yet.');
  if (records.length <= EPOCHS_LISTED) return epochTable(records);
  const all = h('details', {}, h('summary', {}, `Show all ${records.length} epochs`));
  all.addEventListener('toggle', () => {
    if (all.open && all.childElementCount === 1) all.append(epochTable(records));
  }, { once: true });
  return h('div', {}, h('p', {}, `The last ${EPOCHS_LISTED} of ${records.length} epochs:`), epochTable(records.slice(-EPOCHS_LISTED)), all);
}

function epochTable(records: EpochRecord[]): HTMLElement {
  const hasValidation = records.some((record) => record.valLoss !== undefined);
  const titles = ['Epoch', 'Train loss', 'Train accuracy', ...(hasValidation ? ['Validation loss', 'Validation accuracy'] : []), 'Time', 'Samples/s'];
  return h('div', { class: 'table-scroll' }, h('table', {},
    h('thead', {}, h('tr', {}, ...titles.map((title) => h('th', { scope: 'col', class: title === 'Epoch' ? '' : 'number' }, title)))),
    h('tbody', {}, ...records.map((record) => h('tr', {},
      h('th', { scope: 'row' }, record.epoch),
      h('td', { class: 'number' }, formatNumber(record.trainLoss)),
      h('td', { class: 'number' }, formatPercent(record.trainAccuracy)),
      hasValidation && h('td', { class: 'number' }, record.valLoss === undefined ? '–' : formatNumber(record.valLoss)),
      hasValidation && h('td', { class: 'number' }, record.valAccuracy === undefined ? '–' : formatPercent(record.valAccuracy)),
      h('td', { class: 'number' }, formatDuration(record.seconds)),
      h('td', { class: 'number' }, Math.round(record.samplesPerSecond).toLocaleString()))))));
}

function lossCurves(job: Job): Curve[] {
  const records = job.history.epochs;
  return [
    { label: 'loss per step', points: stepLossPoints(job), style: lineStyle(0, { width: 1 }) },
    { label: 'training loss (epoch)', points: records.map((record) => [record.epoch, record.trainLoss]), style: lineStyle(1, { points: true }) },
    {
      label: 'validation loss (epoch)',
      points: records.flatMap((record) => (record.valLoss === undefined ? [] : [[record.epoch, record.valLoss] as [number, number]])),
      style: lineStyle(2, { points: true }),
    },
  ];
}

function accuracyCurves(job: Job): Curve[] {
  const records = job.history.epochs;
  return [
    { label: 'training accuracy', points: records.map((record) => [record.epoch, record.trainAccuracy]), style: lineStyle(1, { points: true }) },
    {
      label: 'validation accuracy',
      points: records.flatMap((record) => (record.valAccuracy === undefined ? [] : [[record.epoch, record.valAccuracy] as [number, number]])),
      style: lineStyle(2, { points: true }),
    },
  ];
}

/** What the finished model is evaluated on: the data its job validated on when there is some, else its training data (said so). */
function evaluationTarget(job: Job): { body: EvaluateRequest; where: string } {
  if (job.validationDatasetId) return { body: { split: 'validation' }, where: 'the validation dataset' };
  if (job.validationSplit) return { body: { split: 'validation' }, where: `the ${formatPercent(job.validationSplit)} of the dataset held out for validation` };
  return { body: { datasetId: job.datasetId }, where: 'the training dataset (it includes the samples the model learned from)' };
}

async function showEvaluation(section: HTMLElement, job: Job, modelId: string, signal: AbortSignal): Promise<void> {
  const heading = section.firstElementChild;
  const { body, where } = evaluationTarget(job);
  show(section, heading, h('p', {}, `Evaluating the model on ${where}…`));
  try {
    const evaluation = await api.post<EvaluationResult>(`/models/${modelId}/evaluate`, body, signal);
    show(section, heading,
      h('p', {}, `On ${where}: accuracy ${formatPercent(evaluation.accuracy)}, loss ${formatNumber(evaluation.loss)}, ${evaluation.count.toLocaleString()} samples.`),
      confusionHeatmap(evaluation.confusionMatrix));
  } catch (error) {
    if (!signal.aborted) show(section, heading, notice('error', h('p', {}, `The model could not be evaluated: ${errorText(error)}`)));
  }
}
