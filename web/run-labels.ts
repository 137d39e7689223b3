import { api } from './api.js';
import type { Job, JobLabelsBody } from './api-types.js';
import { errorText, h, notice, show } from './dom.js';

/** Comma-separated tags as the API takes them. */
export const tagsFrom = (text: string): string[] => text.split(',').map((tag) => tag.trim()).filter(Boolean);

/** A run's name and tags on its page, with a form to change them (PATCH /jobs/:id). */
export class RunLabels {
  readonly element: HTMLElement;
  private readonly name = h('input', { type: 'text', name: 'name', maxlength: 100, autocomplete: 'off' });
  private readonly tags = h('input', { type: 'text', name: 'tags', autocomplete: 'off' });
  private readonly status = h('div', { 'aria-live': 'polite' });

  constructor(private job: Job) {
    this.name.value = job.name ?? '';
    this.tags.value = job.tags.join(', ');
    const form = h('form', { class: 'inline-form', 'aria-label': 'Name and tags' },
      h('label', {}, 'Run name ', this.name),
      h('label', {}, 'Tags ', this.tags),
      h('button', { type: 'submit', class: 'secondary' }, 'Save name and tags'));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.save();
    });
    this.element = h('div', { class: 'run-labels' }, form, this.status);
  }

  private async save(): Promise<void> {
    const body: JobLabelsBody = {
      name: this.name.value.trim() === '' ? null : this.name.value.trim(),
      tags: tagsFrom(this.tags.value),
    };
    try {
      this.job = await api.patch<Job>(`/jobs/${encodeURIComponent(this.job.id)}`, body);
      this.tags.value = this.job.tags.join(', ');
      show(this.status, notice('success', h('p', {}, 'Saved.')));
    } catch (error) {
      show(this.status, notice('error', h('p', {}, errorText(error))));
    }
  }
}
