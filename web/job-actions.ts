import { api, LIST_PAGE_MAX } from './api.js';
import type { Dataset, DatasetList, Job, JobRequestBody, ResumeRequestBody } from './api-types.js';
import { errorText, h, notice, show } from './dom.js';
import { isFinished } from './job-format.js';
import { jobHref } from './route.js';

/** Jobs that ended for one of these kept a checkpoint to go on from (see RESUMABLE_STOP_REASONS in the service). */
const RESUMABLE: ReadonlyArray<Job['stopReason']> = ['stopped', 'max_runtime', 'cancelled'];

const canResume = (job: Job): boolean => (job.state === 'failed' || RESUMABLE.includes(job.stopReason)) && job.checkpoints.length > 0;

/**
 * What a person can do with a job from its page: stop it and keep the model, cancel it, resume it
 * from its checkpoint (optionally for more epochs), or train a new job from its model on any
 * dataset of the same width. `changed` hands back the job as the service answered.
 */
export class JobActions {
  readonly element: HTMLElement;
  private readonly stopButton = h('button', { type: 'button' }, 'Stop and keep model');
  private readonly cancelButton = h('button', { type: 'button', class: 'danger' }, 'Cancel job');
  private readonly resumeEpochs = h('input', { type: 'number', name: 'resume-epochs', min: 1, step: 1, inputmode: 'numeric' });
  private readonly resumeForm: HTMLFormElement;
  private readonly warmDataset = h('select', { name: 'warm-dataset' });
  private readonly warmEpochs = h('input', { type: 'number', name: 'warm-epochs', min: 1, step: 1, inputmode: 'numeric', placeholder: 'default' });
  private readonly warmForm: HTMLFormElement;
  private readonly status = h('div', { 'aria-live': 'polite' });
  private job: Job;
  private datasetsLoaded = false;

  constructor(job: Job, private readonly changed: (job: Job) => void) {
    this.job = job;
    this.resumeForm = h('form', { class: 'inline-form', 'aria-label': 'Resume' },
      h('label', {}, 'Epochs in all ', this.resumeEpochs),
      h('button', { type: 'submit' }, 'Resume'));
    this.warmForm = h('form', { class: 'inline-form', 'aria-label': 'Train on from this model' },
      h('label', {}, 'Dataset ', this.warmDataset),
      h('label', {}, 'Epochs for the new job ', this.warmEpochs),
      h('button', { type: 'submit' }, 'Train on from this model'));
    this.element = h('div', { class: 'actions' }, this.stopButton, this.cancelButton, this.resumeForm, this.warmForm, this.status);

    this.stopButton.addEventListener('click', () => void this.act(this.stopButton, () => api.post<Job>(this.jobPath('/stop'), {}),
      'Stop requested: the job finishes within one batch and keeps the model trained so far.'));
    this.cancelButton.addEventListener('click', () => void this.act(this.cancelButton, () => api.delete<Job>(this.jobPath('')),
      (answer) => (answer.state === 'cancelled' ? 'The job was cancelled.' : 'Cancel requested: the job stops within one batch and keeps its last checkpoint.')));
    this.resumeForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const body: ResumeRequestBody = this.resumeEpochs.value ? { epochs: Number(this.resumeEpochs.value) } : {};
      void this.act(this.resumeForm, () => api.post<Job>(this.jobPath('/resume'), body), 'Resumed: the job is back in the queue and goes on from its checkpoint.');
    });
    this.warmForm.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.warmStart();
    });
    this.update(job);
  }

  update(job: Job): void {
    // A message about a request is stale once the job has moved to another state.
    if (job.state !== this.job.state) show(this.status);
    this.job = job;
    const finished = isFinished(job.state);
    this.stopButton.hidden = job.state !== 'running';
    this.cancelButton.hidden = finished;
    const pending = job.stopRequested !== null;
    this.stopButton.disabled = pending;
    this.cancelButton.disabled = pending;
    this.resumeForm.hidden = !finished || !canResume(job);
    const lastCheckpoint = job.checkpoints.at(-1)?.epoch ?? 0;
    this.resumeEpochs.min = String(lastCheckpoint + 1);
    this.resumeEpochs.placeholder = String(Math.max(job.config.epochs, lastCheckpoint + 1));
    this.warmForm.hidden = job.modelId === null;
    if (job.modelId && !this.datasetsLoaded) void this.loadDatasets();
  }

  private jobPath(suffix: string): string {
    return `/jobs/${encodeURIComponent(this.job.id)}${suffix}`;
  }

  /** Datasets a warm start can train on: those whose samples have as many values as the model's input. */
  private async loadDatasets(): Promise<void> {
    this.datasetsLoaded = true;
    const { datasets } = await api.get<DatasetList>(`/datasets?limit=${LIST_PAGE_MAX}`);
    const fitting = datasets.filter((dataset: Dataset) => dataset.inputSize === this.job.config.shape[0]);
    show(this.warmDataset, ...fitting.map((dataset) => h('option', { value: dataset.id, selected: dataset.id === this.job.datasetId }, `${dataset.name} (${dataset.count.toLocaleString()} samples)`)));
  }

  private async warmStart(): Promise<void> {
    const body: JobRequestBody = {
      datasetId: this.warmDataset.value,
      fromModelId: this.job.modelId!,
      ...(this.warmEpochs.value && { epochs: Number(this.warmEpochs.value) }),
    };
    try {
      const created = await api.post<Job>('/jobs', body);
      location.hash = jobHref(created.id);
    } catch (error) {
      show(this.status, notice('error', h('p', {}, errorText(error))));
    }
  }

  private async act(control: HTMLButtonElement | HTMLFormElement, request: () => Promise<Job>, said: string | ((answer: Job) => string)): Promise<void> {
    const disable = (value: boolean) => {
      for (const button of control instanceof HTMLFormElement ? control.querySelectorAll('button') : [control]) button.disabled = value;
    };
    disable(true);
    try {
      const answer = await request();
      show(this.status, notice('info', h('p', {}, typeof said === 'string' ? said : said(answer))));
      this.changed(answer);
    } catch (error) {
      show(this.status, notice('error', h('p', {}, errorText(error))));
    } finally {
      disable(false);
    }
  }
}
