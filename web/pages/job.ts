import { api, followEvents } from '../api.js';
import type { Dataset, EpochRecord, Job, JobStreamEvents } from '../api-types.js';
import { LineChart, lineStyle, type Curve } from '../charts.js';
import { errorText, formatDate, formatDuration, formatNumber, formatPercent, h, notice, show, scrollBox } from '../dom.js';
import { MNIST_SIDE } from '../digit-centring.js';
import { showEvaluation } from '../evaluation-view.js';
import { bestAccuracyText, isFinished, jobSettings, learningRateText, listedBestAccuracy, progressView, shapeText, stateBadge, stepLossPoints } from '../job-format.js';
import { RunLabels } from '../run-labels.js';
import { JobActions } from '../job-actions.js';
import { cloneHref, datasetHref, predictHref, type Page } from '../route.js';

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
  const lossChart = new LineChart({ title: 'Loss', xLabel: 'epoch', yLabel: 'loss', logY: true, smoothing: true, syncKey: 'job' });
  const accuracyChart = new LineChart({ title: 'Accuracy', xLabel: 'epoch', yLabel: 'accuracy', fraction: true, syncKey: 'job' });
  const learningRateChart = new LineChart({ title: 'Learning-rate range test', xLabel: 'learning rate', yLabel: 'smoothed loss', logY: true, logX: true });
  const labels = new RunLabels(job);
  const clone = h('div', { class: 'actions' });
  const diagnostics = h('div', {});
  const epochs = h('div', {});
  const result = h('section', { class: 'panel', 'aria-labelledby': 'result-title' }, h('h2', { id: 'result-title' }, 'Evaluation'));
  const settings = h('div', {});
  const learningRateSection = h('section', { class: 'panel', 'aria-labelledby': 'lr-title', hidden: true }, h('h2', { id: 'lr-title' }, 'Learning-rate range test'), learningRateChart.element);
  signal.addEventListener('abort', () => {
    lossChart.destroy();
    accuracyChart.destroy();
    learningRateChart.destroy();
  });

  show(root,
    heading,
    labels.element,
    actions.element,
    clone,
    h('div', { class: 'columns' },
      h('section', { class: 'panel', 'aria-labelledby': 'status-title' }, h('h2', { id: 'status-title' }, 'Status'), summary, connection),
      h('section', { class: 'panel', 'aria-labelledby': 'diagnostics-title' }, h('h2', { id: 'diagnostics-title' }, 'Diagnostics'), diagnostics)),
    h('section', { class: 'panel', 'aria-labelledby': 'curves-title' },
      h('h2', { id: 'curves-title' }, 'Curves'),
      h('div', { class: 'columns' }, lossChart.element, accuracyChart.element)),
    learningRateSection,
    h('section', { class: 'panel', 'aria-labelledby': 'epochs-title' }, h('h2', { id: 'epochs-title' }, 'Epochs'), epochs),
    result,
    h('section', { class: 'panel', 'aria-labelledby': 'settings-title' }, h('h2', { id: 'settings-title' }, 'All settings'), settings));

  const datasetName = await datasetNameOf(job.datasetId, signal);
  let frameRequested = false;
  let tablesStale = true;
  const render = () => {
    frameRequested = false;
    show(heading, `Job `, h('span', { class: 'mono' }, job.id), ' ', stateBadge(job.state));
    actions.update(job);
    show(summary, statusFacts(job, datasetName));
    // While it runs, the x axis spans the planned epochs so the curves grow to the right; after, the epochs run.
    // Both charts get the same span, so their x axes line up.
    const xMax = isFinished(job.state) ? job.history.epochs.at(-1)?.epoch ?? null : job.config.epochs;
    lossChart.update(lossCurves(job), xMax);
    if (!tablesStale) return;
    tablesStale = false;
    show(diagnostics, ...diagnosticsView(job));
    show(epochs, epochsView(job));
    accuracyChart.update(accuracyCurves(job), xMax);
    result.hidden = job.state !== 'completed';
    show(clone, ...cloneLinks(job));
    show(settings, settingsList(job));
    learningRateSection.hidden = job.learningRateSearch === null;
    if (job.learningRateSearch) {
      learningRateChart.update([{ label: 'smoothed loss', points: job.learningRateSearch.curve.map((point) => [point.learningRate, point.loss]), style: lineStyle(0) }]);
    }
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

/** Start a new run from this one's settings, as they are or with the diagnosis's suggestions applied. */
function cloneLinks(job: Job): HTMLElement[] {
  const advised = (job.diagnostics?.warnings ?? []).filter((warning) => warning.field !== undefined && warning.suggestion !== undefined);
  return [
    h('a', { class: 'button secondary', href: cloneHref(job.id, false) }, 'Clone and edit'),
    ...(advised.length > 0
      ? [h('a', { class: 'button secondary', href: cloneHref(job.id, true) }, `Clone with the advice applied (${advised.map((warning) => warning.field).join(', ')})`)]
      : []),
  ];
}

function settingsList(job: Job): HTMLElement {
  return h('dl', { class: 'facts' }, ...jobSettings(job).flatMap(([name, value]) => [h('dt', { class: 'mono' }, name), h('dd', {}, value)]));
}

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
    ...accuracyFacts(job),
    ['Created', formatDate(job.createdAt)],
  ];
  if (job.startedAt) facts.push(['Started', formatDate(job.startedAt)]);
  if (job.finishedAt) facts.push(['Finished', formatDate(job.finishedAt)]);
  if (job.stopReason) facts.push(['Outcome', `The job ${STOP_REASON_WORDS[job.stopReason]}.`]);
  if (job.modelId) {
    const drawable = config.shape[0] === MNIST_SIDE * MNIST_SIDE;
    const exportHref = (format: string) => `/models/${encodeURIComponent(job.modelId!)}/export?format=${format}`;
    facts.push(['Model', h('span', {}, h('span', { class: 'mono' }, job.modelId), drawable && ' · ', drawable && h('a', { href: predictHref(job.modelId) }, 'draw a digit for it'),
      ' · export as ', h('a', { href: exportHref('onnx'), download: `${job.modelId}.onnx` }, 'ONNX'), ' or ', h('a', { href: exportHref('json'), download: `${job.modelId}.json` }, 'JSON'))]);
  }
  return h('dl', { class: 'facts' }, ...facts.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]));
}

/**
 * The model's accuracy is that of the epoch whose weights it keeps (the predict page lists the
 * same); a better epoch it did not keep is named apart, so the two are never confused.
 */
function accuracyFacts(job: Job): [string, string][] {
  const kind = job.accuracyKind;
  const epochAccuracy = (record: EpochRecord) => (kind === 'validation' ? record.valAccuracy : record.trainAccuracy) ?? Number.NaN;
  const peak = job.history.epochs.reduce<EpochRecord | null>((best, record) => (best === null || epochAccuracy(record) > epochAccuracy(best) ? record : best), null);
  if (job.modelId === null) return peak ? [[`Best ${kind} accuracy so far`, `${formatPercent(epochAccuracy(peak))} (epoch ${peak.epoch})`]] : [];
  const facts: [string, string][] = [['Model accuracy', bestAccuracyText(listedBestAccuracy(job))]];
  if (peak && job.bestAccuracy !== null && epochAccuracy(peak) > job.bestAccuracy) {
    facts.push([`Best epoch`, `${formatPercent(epochAccuracy(peak))} ${kind} accuracy at epoch ${peak.epoch}, whose weights the model did not keep`]);
  }
  return facts;
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
  if (search) views.push(h('p', {}, `Learning-rate range test: ${search.curve.length} steps; lowest loss at ${formatNumber(search.lowestLossAt)}, chosen ${formatNumber(search.chosen)} (drawn below).`));
  if (views.length === 0) {
    views.push(job.diagnostics
      ? notice('success', h('p', {}, 'No problems found: gradients flow and the weights change at a healthy rate.'))
      : h('p', {}, job.state === 'queued' ? 'Diagnostics appear once training starts.' : 'No diagnostics yet.'));
  }
  const layers = job.diagnostics?.layers ?? [];
  if (layers.length > 0) {
    views.push(h('p', { class: 'hint' }, 'Per layer, over the last batch. Update ratio: weight change per step relative to the weights (the default rates move them about 1–3% per step early on).'));
    views.push(scrollBox(h('table', { 'aria-label': 'Diagnostics per layer' },
      h('thead', {}, h('tr', {}, ...['Layer', 'Gradient norm', 'Update ratio', 'Saturated units', 'Dead units'].map((title) => h('th', { scope: 'col', class: title === 'Layer' ? '' : 'number' }, title)))),
      h('tbody', {}, ...layers.map((layer) => h('tr', {},
        h('th', { scope: 'row' }, layer.layer),
        h('td', { class: 'number' }, layer.gradientNorm === null ? NOT_FINITE : formatNumber(layer.gradientNorm)),
        h('td', { class: 'number' }, layer.updateRatio === null ? NOT_FINITE : updateRatioText(layer.updateRatio)),
        h('td', { class: 'number' }, layer.saturatedFraction === null ? 'n/a' : formatPercent(layer.saturatedFraction)),
        h('td', { class: 'number' }, layer.deadFraction === null ? 'n/a' : formatPercent(layer.deadFraction))))))));
  }
  return views;
}

/** What a diverged run's overflowed measures show as. */
const NOT_FINITE = 'overflowed';

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
  return scrollBox(h('table', {},
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
    { label: 'loss per step', points: stepLossPoints(job), style: lineStyle(0, { width: 1 }), smoothable: true },
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
