import { parameterCount } from '../../src/core/network.js';
import { DEFAULT_LEARNING_RATES, DEFAULT_TRAINING, TRAINING_LIMITS } from '../../src/core/training-config.js';
import { HIDDEN_ACTIVATIONS, INITS, LOSSES, OPTIMIZERS, OUTPUT_ACTIVATIONS } from '../../src/core/types.js';
import { api, ApiError, LIST_PAGE_MAX } from '../api.js';
import type { Dataset, DatasetList, Job, JobLabelsBody, JobList, JobRequestBody, JobSummary } from '../api-types.js';
import { errorText, field, h, notice, poll, show } from '../dom.js';
import { runName } from '../job-format.js';
import { tagsFrom } from '../run-labels.js';
import { RunsTable, runsQueryFrom, withRunsQuery, type RunsQuery } from '../runs-table.js';
import { jobHref, type Page } from '../route.js';

const LIST_REFRESH_MS = 2000;
/** A step schedule's numbers when the form leaves them empty: halve the rate every 10 epochs. */
const STEP_DEFAULTS = { everyEpochs: 10, gamma: 0.5 } as const;
const JOBS_PER_PAGE = 50;

/**
 * The runs loaded so far, page by page over the API's cursor, in the order and under the filter
 * the table asks for. A refresh reads every loaded page again, so running jobs on older pages
 * update too; a new order or filter starts again from the first page.
 */
class RunPages {
  private cursors: (string | null)[] = [null];
  nextCursor: string | null = null;

  constructor(private query: RunsQuery, private readonly signal: AbortSignal) {}

  /** The loaded pages read again; null when the order or filter changed while they were read. */
  async read(): Promise<{ jobs: JobSummary[]; total: number } | null> {
    const asked = this.query;
    const { sort, descending, filter } = asked;
    const base = `/jobs?limit=${JOBS_PER_PAGE}&sort=${sort}&order=${descending ? 'desc' : 'asc'}${filter === '' ? '' : `&q=${encodeURIComponent(filter)}`}`;
    const pages = await Promise.all(this.cursors.map((cursor) =>
      api.get<JobList>(`${base}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`, this.signal)));
    // An answer to the old order must not set the cursor "Load more" uses with the new one.
    if (this.query !== asked) return null;
    this.nextCursor = pages.at(-1)?.nextCursor ?? null;
    // A run that moved between pages while they were read is listed once.
    const seen = new Set<string>();
    const jobs = pages.flatMap((page) => page.jobs).filter((job) => !seen.has(job.id) && seen.add(job.id));
    return { jobs, total: pages[0].total };
  }

  more(): void {
    if (this.nextCursor !== null) this.cursors.push(this.nextCursor);
  }

  ask(query: RunsQuery): void {
    this.query = query;
    this.cursors = [null];
  }
}

export const jobsPage: Page = async (root, route, signal) => {
  const pages = new RunPages(runsQueryFrom(route.query), signal);
  const [{ datasets }, first] = await Promise.all([api.get<DatasetList>(`/datasets?limit=${LIST_PAGE_MAX}`, signal), pages.read()]);
  const problem = h('div', { 'aria-live': 'polite' });
  const older = h('button', { type: 'button', class: 'secondary' }, `Load ${JOBS_PER_PAGE} more runs`);
  // Refreshes run one at a time, so an older answer never overwrites a newer order or filter.
  let reading = Promise.resolve();
  const refresh = () => {
    reading = reading.then(async () => {
      try {
        const runs = await pages.read();
        if (runs === null) return;
        list.update(runs.jobs, runs.total);
        older.hidden = pages.nextCursor === null;
        show(problem);
      } catch (error) {
        if (!signal.aborted) show(problem, notice('error', h('p', {}, `The list could not be refreshed: ${errorText(error)}`)));
      }
    });
    return reading;
  };
  const list = new RunsTable(new Map(datasets.map((dataset) => [dataset.id, dataset.name])), runsQueryFrom(route.query), (query) => {
    pages.ask(query);
    // replaceState changes the address without a hashchange, so the page is not drawn again.
    history.replaceState(null, '', `#/jobs?${withRunsQuery(route.query, query)}`);
    void refresh();
  });
  older.addEventListener('click', () => {
    pages.more();
    void refresh();
  });
  const cloneOf = route.query.get('from');
  const source = cloneOf === null ? null : await api.get<Job>(`/jobs/${encodeURIComponent(cloneOf)}?history=none`, signal);
  show(root,
    h('h1', {}, 'Training jobs'),
    h('section', { class: 'panel', 'aria-labelledby': 'new-job-title' },
      h('h2', { id: 'new-job-title' }, 'Start a job'),
      datasets.length === 0
        ? notice('info', h('p', {}, 'There are no datasets yet. ', h('a', { href: '#/datasets' }, 'Upload one'), ' first.'))
        : jobForm(datasets, source && { job: source, withAdvice: route.query.has('advice') })),
    h('section', { class: 'panel', 'aria-labelledby': 'job-list-title' },
      h('h2', { id: 'job-list-title' }, 'Runs'),
      problem,
      list.element,
      h('div', { class: 'actions' }, older)));

  if (first) list.update(first.jobs, first.total);
  older.hidden = pages.nextCursor === null;
  poll(LIST_REFRESH_MS, signal, async () => {
    await refresh();
    return true;
  });
};

function datasetOutputs(dataset: Dataset): number {
  return dataset.numClasses ?? dataset.targetSize ?? 1;
}

function datasetOption(dataset: Dataset): string {
  const outputs = dataset.numClasses !== null ? `${dataset.numClasses} classes` : `${dataset.targetSize} targets`;
  return `${dataset.name} — ${dataset.count.toLocaleString()} samples, ${dataset.inputSize} inputs, ${outputs}`;
}

/** A first hidden layer that suits the data: wide for images, small for toy sets such as XOR. */
function suggestedShape(dataset: Dataset): string {
  const hidden = dataset.inputSize >= 100 ? 128 : 8;
  return [dataset.inputSize, hidden, datasetOutputs(dataset)].join(', ');
}

function select(name: string, values: readonly string[], defaultLabel: string): HTMLSelectElement {
  return h('select', { name }, h('option', { value: '' }, defaultLabel), ...values.map((value) => h('option', { value }, value)));
}

function numberInput(name: string, placeholder: string, attributes: Record<string, string | number> = {}): HTMLInputElement {
  return h('input', { type: 'number', name, placeholder, step: 'any', inputmode: 'decimal', ...attributes });
}

/** The options most runs change are in view; everything else has a default and folds under "Advanced". */
function jobForm(datasets: Dataset[], clone: CloneSource | null): HTMLFormElement {
  const datasetSelect = h('select', { name: 'datasetId', required: true }, ...datasets.map((dataset) => h('option', { value: dataset.id }, datasetOption(dataset))));
  const shapeInput = h('input', { type: 'text', name: 'shape', required: true, autocomplete: 'off', spellcheck: 'false' });
  const optimizerSelect = select('optimizer', OPTIMIZERS, `default (${DEFAULT_TRAINING.optimizer})`);
  const learningRateInput = h('input', { name: 'learningRate', inputmode: 'decimal', placeholder: String(DEFAULT_LEARNING_RATES[DEFAULT_TRAINING.optimizer]) }) as HTMLInputElement;
  const status = h('div', { 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit' }, 'Start training');
  const nameInput = h('input', { type: 'text', name: 'runName', autocomplete: 'off', maxlength: 100, placeholder: 'the job\'s id' });
  const validationSelect = h('select', { name: 'validationDatasetId' },
    h('option', { value: '' }, 'none: hold out a split of the dataset'),
    ...datasets.map((dataset) => h('option', { value: dataset.id }, datasetOption(dataset))));
  const parameters = h('p', { class: 'hint', 'aria-live': 'polite' });
  const countParameters = () => {
    const shape = shapeFrom(shapeInput.value);
    show(parameters, shape ? `${parameterCount(shape).toLocaleString()} parameters` : '');
  };
  shapeInput.addEventListener('input', countParameters);
  const tagsInput = h('input', { type: 'text', name: 'tags', autocomplete: 'off', placeholder: 'none' });

  let suggested = '';
  const suggestShape = () => {
    const dataset = datasets.find((candidate) => candidate.id === datasetSelect.value);
    if (!dataset || (shapeInput.value !== '' && shapeInput.value !== suggested)) return;
    suggested = suggestedShape(dataset);
    shapeInput.value = suggested;
  };
  datasetSelect.addEventListener('change', () => {
    suggestShape();
    countParameters();
  });
  suggestShape();
  optimizerSelect.addEventListener('change', () => {
    learningRateInput.placeholder = String(DEFAULT_LEARNING_RATES[(optimizerSelect.value || DEFAULT_TRAINING.optimizer) as keyof typeof DEFAULT_LEARNING_RATES]);
  });

  const form = h('form', { novalidate: true },
    h('div', { class: 'form-grid' },
      field('Dataset', datasetSelect, undefined, true),
      h('div', {}, field('Shape', shapeInput, 'Layer widths, input to output'), parameters),
      field('Learning rate', learningRateInput, 'Empty: the optimizer\'s default; "auto": a range test picks it'),
      field('Optimizer', optimizerSelect),
      field('Epochs', numberInput('epochs', 'until it converges', { min: 1, step: 1 }), 'Empty: a step budget, ended once the loss stops improving'),
      field('Run name', nameInput),
      field('Tags', tagsInput, 'Separated by commas')),
    h('details', { open: clone !== null },
      h('summary', {}, 'Advanced'),
      h('div', { class: 'form-grid' },
        field('Validation split', numberInput('validationSplit', '0.1', { min: 0, max: TRAINING_LIMITS.maxValidationSplit }), 'Fraction held out, stratified, 0–0.5; empty: 10% of 100+ samples'),
        field('Validation dataset', validationSelect, 'Instead of a split: samples of their own'),
        field('Batch size', numberInput('batchSize', String(DEFAULT_TRAINING.batchSize), { min: 1, step: 1 })),
        field('Hidden activation', select('activation', HIDDEN_ACTIVATIONS, `default (${DEFAULT_TRAINING.activation})`)),
        field('Output activation', select('outputActivation', OUTPUT_ACTIVATIONS, 'default (from the shape)')),
        field('Loss', select('loss', LOSSES, 'default (cross_entropy)')),
        field('Weight init', select('init', INITS, 'default (from the activation)')),
        field('Momentum', numberInput('momentum', String(DEFAULT_TRAINING.momentum), { min: 0, max: 0.999 })),
        field('L2 weight decay', numberInput('l2', String(DEFAULT_TRAINING.l2), { min: 0, max: 1 })),
        field('Dropout', numberInput('dropout', String(DEFAULT_TRAINING.dropout), { min: 0, max: 0.9 })),
        field('Schedule', select('schedule', ['constant', 'cosine', 'step'], `default (${DEFAULT_TRAINING.schedule.kind})`), 'Cosine decays to 0; step multiplies the rate by a factor every few epochs'),
        field('Step every', numberInput('stepEvery', String(STEP_DEFAULTS.everyEpochs), { min: 1, step: 1 }), 'Epochs, for the step schedule'),
        field('Step factor', numberInput('stepGamma', String(STEP_DEFAULTS.gamma), { min: 0.01, max: 1 }), 'Rate multiplier, for the step schedule'),
        field('Early stopping patience', numberInput('earlyStopping', 'default', { min: 0, step: 1 }), 'Epochs without improvement; 0 turns it off'),
        field('Augment: shift up to', numberInput('augment', 'off', { min: 0, max: TRAINING_LIMITS.maxShift, step: 1 }), 'Pixels, images only'),
        field('Augment: rotate up to', numberInput('rotation', 'off', { min: 0, max: TRAINING_LIMITS.maxRotationDegrees }), 'Degrees, images only'),
        field('Seed', numberInput('seed', String(DEFAULT_TRAINING.seed), { min: 0, step: 1 })),
        field('Time limit', numberInput('maxRuntimeSeconds', 'none', { min: 1, step: 1 }), 'Seconds; the model so far is kept'))),
    h('div', { class: 'actions' }, submit),
    status);
  countParameters();
  if (clone) {
    prefill(form, clone);
    countParameters();
    show(status, notice('info', h('p', {}, `The settings of run ${runName(clone.job)}${clone.withAdvice ? ', with the diagnosis\'s advice applied' : ''}: edit them and start the new run.`)));
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    for (const invalid of form.querySelectorAll('[aria-invalid]')) invalid.removeAttribute('aria-invalid');
    const body = jobRequestFrom(new FormData(form));
    if (typeof body === 'string') {
      shapeInput.setAttribute('aria-invalid', 'true');
      show(status, notice('error', h('p', {}, body)));
      return;
    }
    submit.disabled = true;
    show(status, notice('info', h('p', {}, 'Queuing the job…')));
    const labels = runLabelsFrom(nameInput.value, tagsInput.value);
    api.post<Job>('/jobs', body)
      .then(async (job) => {
        if (labels) await api.patch<Job>(`/jobs/${job.id}`, labels);
        location.hash = jobHref(job.id);
      })
      .catch((error: unknown) => {
        submit.disabled = false;
        if (error instanceof ApiError) markFields(form, error.fields);
        show(status, notice('error', h('p', {}, errorText(error))));
      });
  });
  return form;
}

/** A job to copy into the form, and whether to apply its diagnosis's suggestions on top. */
interface CloneSource {
  job: Job;
  withAdvice: boolean;
}

/** The PATCH /jobs/:id body for a new run's name and comma-separated tags, or null when both are empty. */
function runLabelsFrom(name: string, tags: string): JobLabelsBody | null {
  const tagList = tagsFrom(tags);
  if (name.trim() === '' && tagList.length === 0) return null;
  return { ...(name.trim() !== '' && { name: name.trim() }), ...(tagList.length > 0 && { tags: tagList }) };
}

/** A config or suggested value as the form's input holds it: widths with commas, a schedule by its kind, a patience or shift by its number. */
function formValue(name: string, value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.join(', ');
  if (typeof value !== 'object') return String(value);
  const fields = value as Record<string, unknown>;
  const inner = { schedule: fields.kind, init: fields.kind, earlyStopping: fields.patience, augment: fields.maxShift }[name];
  return inner === undefined ? '' : String(inner);
}

/** Fills the form with a job's settings and, when asked, the values its diagnosis suggests. */
function prefill(form: HTMLFormElement, { job, withAdvice }: CloneSource): void {
  const { config } = job;
  const values: Record<string, unknown> = {
    ...config,
    datasetId: job.datasetId,
    validationSplit: job.validationSplit,
    maxRuntimeSeconds: job.maxRuntimeSeconds,
    validationDatasetId: job.validationDatasetId,
    runName: job.name === null ? '' : `${job.name} (copy)`,
    tags: job.tags.join(', '),
    stepEvery: config.schedule.kind === 'step' ? config.schedule.everyEpochs : undefined,
    stepGamma: config.schedule.kind === 'step' ? config.schedule.gamma : undefined,
    rotation: config.augment?.maxRotationDegrees,
    earlyStopping: config.earlyStopping ?? 0,
  };
  if (withAdvice) {
    for (const warning of job.diagnostics?.warnings ?? []) {
      if (warning.field !== undefined && warning.suggestion !== undefined) values[warning.field] = warning.suggestion;
    }
  }
  for (const [name, value] of Object.entries(values)) {
    const control = form.elements.namedItem(name);
    if (control instanceof HTMLInputElement || control instanceof HTMLSelectElement) control.value = formValue(name, value);
  }
}

/** Marks the inputs a validation error names (`shape.1` marks `shape`). */
function markFields(form: HTMLFormElement, fields: string[]): void {
  for (const name of fields) form.querySelector(`[name="${CSS.escape(name.split('.')[0])}"]`)?.setAttribute('aria-invalid', 'true');
}

/** The POST /jobs body from the form: empty inputs are left out so the API's defaults apply. A string says what is wrong. */
function jobRequestFrom(form: FormData): JobRequestBody | string {
  const text = (name: string): string => String(form.get(name) ?? '').trim();
  const number = (name: string): number | undefined => (text(name) === '' ? undefined : Number(text(name)));
  const choice = <T extends string>(name: string): T | undefined => (text(name) === '' ? undefined : text(name) as T);

  const shape = shapeFrom(text('shape'));
  if (!shape) return 'Shape: write the layer widths as whole numbers separated by commas, input first and output last, e.g. 784, 128, 10';
  const patience = number('earlyStopping');
  const maxShift = number('augment');
  const maxRotationDegrees = number('rotation');
  const schedule = choice<'constant' | 'cosine' | 'step'>('schedule');
  const validationDatasetId = choice<string>('validationDatasetId');
  const body: JobRequestBody = {
    datasetId: text('datasetId'),
    shape,
    learningRate: text('learningRate') === 'auto' ? 'auto' : number('learningRate'),
    optimizer: choice('optimizer'),
    epochs: number('epochs'),
    validationSplit: validationDatasetId ? undefined : number('validationSplit'),
    validationDatasetId,
    batchSize: number('batchSize'),
    activation: choice('activation'),
    outputActivation: choice('outputActivation'),
    loss: choice('loss'),
    init: choice<(typeof INITS)[number]>('init'),
    momentum: number('momentum'),
    l2: number('l2'),
    dropout: number('dropout'),
    schedule: scheduleFrom(schedule, number('stepEvery'), number('stepGamma')),
    earlyStopping: patience === undefined ? undefined : patience === 0 ? null : { patience, minDelta: 0, restoreBest: true },
    augment: maxShift === undefined && maxRotationDegrees === undefined ? undefined : { maxShift: maxShift ?? 0, maxRotationDegrees: maxRotationDegrees ?? 0 },
    seed: number('seed'),
    maxRuntimeSeconds: number('maxRuntimeSeconds'),
  };
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined)) as JobRequestBody;
}

/** Layer widths from "784, 128, 10": whole numbers, at least an input and an output; null when they are not. */
function shapeFrom(text: string): number[] | null {
  const shape = text.split(/[\s,]+/).filter(Boolean).map(Number);
  return shape.length >= 2 && shape.every((width) => Number.isInteger(width) && width > 0) ? shape : null;
}

/** The schedule a job asks for; a step schedule without its numbers takes STEP_DEFAULTS. */
function scheduleFrom(kind: 'constant' | 'cosine' | 'step' | undefined, everyEpochs: number | undefined, gamma: number | undefined): JobRequestBody['schedule'] {
  switch (kind) {
    case undefined:
      return undefined;
    case 'constant':
      return { kind };
    case 'cosine':
      return { kind, minLearningRate: 0 };
    case 'step':
      return { kind, everyEpochs: everyEpochs ?? STEP_DEFAULTS.everyEpochs, gamma: gamma ?? STEP_DEFAULTS.gamma };
  }
}
