import { DEFAULT_LEARNING_RATES, DEFAULT_TRAINING } from '../../src/core/training-config.js';
import { HIDDEN_ACTIVATIONS, INITS, LOSSES, OPTIMIZERS, OUTPUT_ACTIVATIONS } from '../../src/core/types.js';
import { api, ApiError, LIST_PAGE_MAX } from '../api.js';
import type { Dataset, DatasetList, Job, JobList, JobRequestBody, JobSummary } from '../api-types.js';
import { errorText, field, formatDate, formatNumber, h, notice, poll, show } from '../dom.js';
import { bestAccuracyText, learningRateText, listedBestAccuracy, progressView, shapeText, shortId, stateBadge } from '../job-format.js';
import { compareHref, datasetHref, jobHref, type Page } from '../route.js';

const LIST_REFRESH_MS = 2000;
const JOBS_LISTED = 50;

export const jobsPage: Page = async (root, _route, signal) => {
  const [{ datasets }, { jobs }] = await Promise.all([
    api.get<DatasetList>(`/datasets?limit=${LIST_PAGE_MAX}`, signal),
    api.get<JobList>(`/jobs?limit=${JOBS_LISTED}`, signal),
  ]);
  const list = new JobTable(datasets);
  show(root,
    h('h1', {}, 'Training jobs'),
    h('section', { class: 'panel', 'aria-labelledby': 'new-job-title' },
      h('h2', { id: 'new-job-title' }, 'Start a job'),
      datasets.length === 0
        ? notice('info', h('p', {}, 'There are no datasets yet. ', h('a', { href: '#/datasets' }, 'Upload one'), ' first.'))
        : jobForm(datasets)),
    h('section', { class: 'panel', 'aria-labelledby': 'job-list-title' },
      h('h2', { id: 'job-list-title' }, 'Jobs'),
      list.element));

  list.update(jobs);
  poll(LIST_REFRESH_MS, signal, async () => {
    try {
      list.update((await api.get<JobList>(`/jobs?limit=${JOBS_LISTED}`, signal)).jobs);
    } catch (error) {
      if (!signal.aborted) list.showProblem(error);
    }
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
function jobForm(datasets: Dataset[]): HTMLFormElement {
  const datasetSelect = h('select', { name: 'datasetId', required: true }, ...datasets.map((dataset) => h('option', { value: dataset.id }, datasetOption(dataset))));
  const shapeInput = h('input', { type: 'text', name: 'shape', required: true, autocomplete: 'off', spellcheck: 'false' });
  const optimizerSelect = select('optimizer', OPTIMIZERS, `default (${DEFAULT_TRAINING.optimizer})`);
  const learningRateInput = h('input', { name: 'learningRate', inputmode: 'decimal', placeholder: String(DEFAULT_LEARNING_RATES[DEFAULT_TRAINING.optimizer]) }) as HTMLInputElement;
  const status = h('div', { 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit' }, 'Start training');

  let suggested = '';
  const suggestShape = () => {
    const dataset = datasets.find((candidate) => candidate.id === datasetSelect.value);
    if (!dataset || (shapeInput.value !== '' && shapeInput.value !== suggested)) return;
    suggested = suggestedShape(dataset);
    shapeInput.value = suggested;
  };
  datasetSelect.addEventListener('change', suggestShape);
  suggestShape();
  optimizerSelect.addEventListener('change', () => {
    learningRateInput.placeholder = String(DEFAULT_LEARNING_RATES[(optimizerSelect.value || DEFAULT_TRAINING.optimizer) as keyof typeof DEFAULT_LEARNING_RATES]);
  });

  const form = h('form', { novalidate: true },
    h('div', { class: 'form-grid' },
      field('Dataset', datasetSelect, undefined, true),
      field('Shape', shapeInput, 'Layer widths, input to output'),
      field('Learning rate', learningRateInput, 'Empty: the optimizer\'s default; "auto": a range test picks it'),
      field('Optimizer', optimizerSelect),
      field('Epochs', numberInput('epochs', 'until it converges', { min: 1, step: 1 }), 'Empty: a step budget, ended once the loss stops improving')),
    h('details', {},
      h('summary', {}, 'Advanced'),
      h('div', { class: 'form-grid' },
        field('Validation split', numberInput('validationSplit', '0.1', { min: 0, max: 0.5 }), 'Fraction held out, stratified, 0–0.5; empty: 10% of 100+ samples'),
        field('Batch size', numberInput('batchSize', String(DEFAULT_TRAINING.batchSize), { min: 1, step: 1 })),
        field('Hidden activation', select('activation', HIDDEN_ACTIVATIONS, `default (${DEFAULT_TRAINING.activation})`)),
        field('Output activation', select('outputActivation', OUTPUT_ACTIVATIONS, 'default (from the shape)')),
        field('Loss', select('loss', LOSSES, 'default (cross_entropy)')),
        field('Weight init', select('init', INITS, 'default (from the activation)')),
        field('Momentum', numberInput('momentum', String(DEFAULT_TRAINING.momentum), { min: 0, max: 0.999 })),
        field('L2 weight decay', numberInput('l2', String(DEFAULT_TRAINING.l2), { min: 0, max: 1 })),
        field('Dropout', numberInput('dropout', String(DEFAULT_TRAINING.dropout), { min: 0, max: 0.9 })),
        field('Schedule', select('schedule', ['constant', 'cosine'], `default (${DEFAULT_TRAINING.schedule.kind})`), 'Cosine decays to 0'),
        field('Early stopping patience', numberInput('earlyStopping', 'off', { min: 1, step: 1 }), 'Epochs without improvement'),
        field('Augment: shift up to', numberInput('augment', 'off', { min: 0, max: 8, step: 1 }), 'Pixels, images only'),
        field('Seed', numberInput('seed', String(DEFAULT_TRAINING.seed), { min: 0, step: 1 })),
        field('Time limit', numberInput('maxRuntimeSeconds', 'none', { min: 1, step: 1 }), 'Seconds; the model so far is kept'))),
    h('div', { class: 'actions' }, submit),
    status);

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
    api.post<Job>('/jobs', body)
      .then((job) => { location.hash = jobHref(job.id); })
      .catch((error: unknown) => {
        submit.disabled = false;
        if (error instanceof ApiError) markFields(form, error.fields);
        show(status, notice('error', h('p', {}, errorText(error))));
      });
  });
  return form;
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

  const shape = text('shape').split(/[\s,]+/).filter(Boolean).map(Number);
  if (shape.length < 2 || !shape.every((width) => Number.isInteger(width) && width > 0)) {
    return 'Shape: write the layer widths as whole numbers separated by commas, input first and output last, e.g. 784, 128, 10';
  }
  const patience = number('earlyStopping');
  const maxShift = number('augment');
  const schedule = choice<'constant' | 'cosine'>('schedule');
  const body: JobRequestBody = {
    datasetId: text('datasetId'),
    shape,
    learningRate: text('learningRate') === 'auto' ? 'auto' : number('learningRate'),
    optimizer: choice('optimizer'),
    epochs: number('epochs'),
    validationSplit: number('validationSplit'),
    batchSize: number('batchSize'),
    activation: choice('activation'),
    outputActivation: choice('outputActivation'),
    loss: choice('loss'),
    init: choice<(typeof INITS)[number]>('init'),
    momentum: number('momentum'),
    l2: number('l2'),
    dropout: number('dropout'),
    schedule: schedule === 'cosine' ? { kind: 'cosine', minLearningRate: 0 } : schedule && { kind: schedule },
    earlyStopping: patience === undefined ? undefined : { patience, minDelta: 0, restoreBest: true },
    augment: maxShift === undefined ? undefined : { maxShift, maxRotationDegrees: 0 },
    seed: number('seed'),
    maxRuntimeSeconds: number('maxRuntimeSeconds'),
  };
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined)) as JobRequestBody;
}

/**
 * The job list. Rows are updated in place, so the compare checkboxes keep their state and
 * focus while running jobs refresh.
 */
class JobTable {
  readonly element: HTMLElement;
  private readonly body = h('tbody');
  private readonly rows = new Map<string, HTMLTableRowElement>();
  private readonly selected = new Set<string>();
  private readonly problem = h('div', { 'aria-live': 'polite' });
  private readonly compareButton = h('button', { type: 'button', class: 'secondary', disabled: true }, 'Compare selected');
  private readonly datasetNames: Map<string, string>;

  constructor(datasets: Dataset[]) {
    this.datasetNames = new Map(datasets.map((dataset) => [dataset.id, dataset.name]));
    this.compareButton.addEventListener('click', () => { location.hash = compareHref([...this.selected]); });
    this.element = h('div', {},
      this.problem,
      h('div', { class: 'table-scroll' },
        h('table', { class: 'cards' },
          h('thead', {}, h('tr', {}, ...['Compare', 'Job', 'State', 'Dataset', 'Shape', 'Learning rate', 'Progress', 'Best accuracy', 'Created']
            .map((title) => h('th', { scope: 'col' }, title)))),
          this.body)),
      h('div', { class: 'actions' }, this.compareButton, h('span', { class: 'hint' }, 'Tick two or more jobs to overlay their curves.')));
  }

  update(jobs: JobSummary[]): void {
    show(this.problem);
    if (jobs.length === 0) {
      show(this.body, h('tr', {}, h('td', { colspan: 9 }, 'No jobs yet: start one with the form.')));
      return;
    }
    this.body.replaceChildren(...jobs.map((job) => this.row(job)));
  }

  showProblem(error: unknown): void {
    show(this.problem, notice('error', h('p', {}, `The list could not be refreshed: ${errorText(error)}`)));
  }

  private row(job: JobSummary): HTMLTableRowElement {
    let row = this.rows.get(job.id);
    if (!row) {
      const checkbox = h('input', { type: 'checkbox', 'aria-label': `Compare job ${shortId(job.id)}` });
      checkbox.addEventListener('change', () => {
        if (checkbox.checked) this.selected.add(job.id);
        else this.selected.delete(job.id);
        this.compareButton.disabled = this.selected.size < 2;
      });
      row = h('tr', { 'data-job': job.id }, h('td', { 'data-label': 'Compare' }, checkbox));
      this.rows.set(job.id, row);
    }
    const cells = [
      ['Job', h('a', { href: jobHref(job.id), class: 'mono' }, shortId(job.id))],
      ['State', stateBadge(job.state)],
      ['Dataset', h('a', { href: datasetHref(job.datasetId) }, this.datasetNames.get(job.datasetId) ?? shortId(job.datasetId))],
      ['Shape', shapeText(job.config.shape)],
      ['Learning rate', `${learningRateText(job)} (${job.config.optimizer})`],
      ['Progress', progressView(job)],
      ['Best accuracy', bestAccuracyText(listedBestAccuracy(job))],
      ['Created', formatDate(job.createdAt)],
    ] as const;
    row.replaceChildren(row.cells[0], ...cells.map(([label, content]) => h('td', { 'data-label': label }, content)));
    return row;
  }
}
