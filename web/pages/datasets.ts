import { api, uploadForm, LIST_PAGE_MAX } from '../api.js';
import type { Dataset, DatasetList, Sample } from '../api-types.js';
import { errorText, field, formatBytes, formatDate, formatPercent, h, notice, show, scrollBox } from '../dom.js';
import { datasetHref, type Page } from '../route.js';
import { sampleCanvas } from '../sample-image.js';

const SAMPLES_PER_PAGE = 30;

export const datasetsPage: Page = async (root, route, signal) => {
  if (route.path[1]) return datasetPage(root, route.path[1], Number(route.query.get('from') ?? 0), signal);
  const { datasets } = await api.get<DatasetList>(`/datasets?limit=${LIST_PAGE_MAX}`, signal);
  show(root,
    h('h1', {}, 'Datasets'),
    h('section', { class: 'panel', 'aria-labelledby': 'upload-title' }, h('h2', { id: 'upload-title' }, 'Upload a dataset'), uploadPanel()),
    h('section', { class: 'panel', 'aria-labelledby': 'dataset-list-title' }, h('h2', { id: 'dataset-list-title' }, 'Stored datasets'), datasetTable(datasets)));
};

/** Which files the upload sends: an IDX pair, or one CSV or JSON file. */
function uploadPanel(): HTMLElement {
  const kindIdx = h('input', { type: 'radio', name: 'kind', value: 'idx', checked: true });
  const kindFile = h('input', { type: 'radio', name: 'kind', value: 'file' });
  const images = h('input', { type: 'file', name: 'images' });
  const labels = h('input', { type: 'file', name: 'labels' });
  const file = h('input', { type: 'file', name: 'file', accept: '.csv,.json,text/csv,application/json' });
  const idxFields = h('div', { class: 'form-grid' },
    field('Images', images, 'e.g. train-images-idx3-ubyte(.gz)'),
    field('Labels', labels, 'e.g. train-labels-idx1-ubyte(.gz)'));
  const labelColumn = h('input', { type: 'text', name: 'labelColumn', autocomplete: 'off', placeholder: 'label, target, class or y; else the first' });
  const targetColumns = h('input', { type: 'text', name: 'targetColumns', autocomplete: 'off', placeholder: 'none: a label column' });
  const delimiter = h('select', { name: 'delimiter' }, ...[[',', 'comma'], [';', 'semicolon'], ['|', 'bar'], ['tab', 'tab']].map(([value, text]) => h('option', { value }, text)));
  const inputs = h('select', { name: 'inputs' },
    h('option', { value: '' }, 'detect (pixels only for square 0..255 images)'), h('option', { value: 'values' }, 'numbers as they are'), h('option', { value: 'pixels' }, 'pixels, 0..255'));
  const fileFields = h('div', { class: 'form-grid', hidden: true },
    field('CSV or JSON file', file, 'CSV: a header row is optional. JSON: { inputs, labels } or { inputs, targets }'),
    field('CSV label column', labelColumn, 'A header name or a column number from 0'),
    field('CSV target columns', targetColumns, 'For regression: names or numbers, separated by commas'),
    field('CSV delimiter', delimiter),
    field('CSV features', inputs));
  const name = h('input', { type: 'text', name: 'name', maxlength: 200, placeholder: 'from the file name' });
  const numClasses = h('input', { type: 'number', name: 'numClasses', min: 1, max: 256, step: 1, placeholder: 'largest label + 1' });
  const progress = h('progress', { max: 1, value: 0, hidden: true, 'aria-label': 'Upload progress' });
  const progressText = h('span', { class: 'progress-text', 'aria-live': 'polite' });
  const status = h('div', { 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit' }, 'Upload');

  const syncKind = () => {
    idxFields.hidden = !kindIdx.checked;
    fileFields.hidden = !kindFile.checked;
  };
  kindIdx.addEventListener('change', syncKind);
  kindFile.addEventListener('change', syncKind);

  const form = h('form', { novalidate: true },
    h('fieldset', {},
      h('legend', {}, 'What are you uploading?'),
      h('label', { class: 'choice' }, kindIdx, 'An IDX pair, as MNIST is published'),
      h('label', { class: 'choice' }, kindFile, 'One CSV or JSON file')),
    idxFields,
    fileFields,
    h('div', { class: 'form-grid', style: 'margin-top: 0.75rem' },
      field('Name (optional)', name),
      field('Classes (optional)', numClasses)),
    h('div', { class: 'actions' }, submit, progress, progressText),
    status);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = kindIdx.checked ? [images, labels] : [file];
    const missing = chosen.filter((input) => !input.files?.length);
    for (const input of [images, labels, file]) input.toggleAttribute('aria-invalid', missing.includes(input));
    if (missing.length > 0) {
      show(status, notice('error', h('p', {}, `Choose the ${missing.map((input) => input.name).join(' and ')} file${missing.length > 1 ? 's' : ''} first.`)));
      return;
    }
    const body = new FormData();
    for (const input of chosen) body.append(input.name, input.files![0]);
    if (name.value.trim()) body.append('name', name.value.trim());
    if (numClasses.value) body.append('numClasses', numClasses.value);
    if (kindFile.checked) {
      for (const control of [labelColumn, targetColumns, inputs]) if (control.value.trim()) body.append(control.name, control.value.trim());
      if (delimiter.value !== ',') body.append('delimiter', delimiter.value);
    }

    submit.disabled = true;
    progress.hidden = false;
    progress.value = 0;
    show(status);
    uploadForm<Dataset>('/datasets', body, ({ sentBytes, totalBytes }) => {
      progress.value = sentBytes / totalBytes;
      progressText.textContent = sentBytes < totalBytes
        ? `Uploading: ${formatPercent(sentBytes / totalBytes)} (${formatBytes(sentBytes)} of ${formatBytes(totalBytes)})`
        : 'Uploaded; the service is checking the data…';
    })
      .then(({ status: code, body: dataset }) => {
        progressText.textContent = '';
        const words = code === 201 ? `Stored “${dataset.name}”: ${dataset.count.toLocaleString()} samples.` : `This content was already stored as “${dataset.name}”.`;
        show(status, notice('success', h('p', {}, words, ' ', h('a', { href: datasetHref(dataset.id) }, 'See its samples'))));
        // A new dataset opens at once; a known one stays here, so its "already stored" message is read.
        if (code === 201) location.hash = datasetHref(dataset.id);
      })
      .catch((error: unknown) => {
        progress.hidden = true;
        progressText.textContent = '';
        show(status, notice('error', h('p', {}, `The upload was refused: ${errorText(error)}`)));
      })
      .finally(() => { submit.disabled = false; });
  });
  return form;
}

function sizeText(dataset: Dataset): string {
  return dataset.width && dataset.height ? `${dataset.width}×${dataset.height}` : `${dataset.inputSize} values`;
}

function outputsText(dataset: Dataset): string {
  return dataset.numClasses !== null ? `${dataset.numClasses} classes` : `${dataset.targetSize} targets`;
}

function datasetTable(datasets: Dataset[]): HTMLElement {
  if (datasets.length === 0) return h('p', {}, 'None yet: upload one with the form.');
  const status = h('div', { 'aria-live': 'polite' });
  const rows = datasets.map((dataset) => {
    const remove = h('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${dataset.name}` }, 'Delete');
    const row = h('tr', {},
      h('td', { 'data-label': 'Name' }, h('a', { href: datasetHref(dataset.id) }, dataset.name)),
      h('td', { 'data-label': 'Format' }, dataset.format.toUpperCase()),
      h('td', { 'data-label': 'Samples', class: 'number' }, dataset.count.toLocaleString()),
      h('td', { 'data-label': 'Inputs' }, sizeText(dataset)),
      h('td', { 'data-label': 'Outputs' }, outputsText(dataset)),
      h('td', { 'data-label': 'Size', class: 'number' }, formatBytes(dataset.bytes)),
      h('td', { 'data-label': 'Created' }, formatDate(dataset.createdAt)),
      h('td', { 'data-label': 'Actions' }, remove));
    remove.addEventListener('click', () => {
      if (!confirm(`Delete the dataset “${dataset.name}”? Models trained on it are kept.`)) return;
      api.delete('/datasets/' + dataset.id)
        .then(() => {
          row.remove();
          show(status, notice('success', h('p', {}, `Deleted “${dataset.name}”.`)));
        })
        .catch((error: unknown) => show(status, notice('error', h('p', {}, errorText(error)))));
    });
    return row;
  });
  return h('div', {}, status, scrollBox(h('table', { class: 'cards' },
    h('thead', {}, h('tr', {}, ...['Name', 'Format', 'Samples', 'Inputs', 'Outputs', 'Size', 'Created', 'Actions'].map((title) => h('th', { scope: 'col' }, title)))),
    h('tbody', {}, ...rows))));
}

async function datasetPage(root: HTMLElement, id: string, from: number, signal: AbortSignal): Promise<void> {
  const dataset = await api.get<Dataset>(`/datasets/${encodeURIComponent(id)}`, signal);
  const start = Number.isInteger(from) && from >= 0 && from < dataset.count ? from : 0;
  const end = Math.min(dataset.count, start + SAMPLES_PER_PAGE);
  const indexes = Array.from({ length: end - start }, (_, i) => start + i);
  const samples = await Promise.all(indexes.map((index) => api.get<Sample>(`/datasets/${dataset.id}/samples/${index}`, signal)));
  const pageHref = (first: number) => `${datasetHref(dataset.id)}?from=${first}`;

  show(root,
    h('p', {}, h('a', { href: '#/datasets' }, '← All datasets')),
    h('h1', {}, dataset.name),
    h('div', { class: 'columns' },
      h('section', { class: 'panel', 'aria-labelledby': 'facts-title' },
        h('h2', { id: 'facts-title' }, 'About'),
        h('dl', { class: 'facts' },
          h('dt', {}, 'Id'), h('dd', { class: 'mono' }, dataset.id),
          h('dt', {}, 'Format'), h('dd', {}, dataset.format.toUpperCase()),
          h('dt', {}, 'Samples'), h('dd', {}, dataset.count.toLocaleString()),
          h('dt', {}, 'Inputs'), h('dd', {}, `${sizeText(dataset)} (${dataset.inputKind === 'bytes' ? '0–255 pixels' : 'numbers used as they are'})`),
          h('dt', {}, 'Outputs'), h('dd', {}, outputsText(dataset)),
          h('dt', {}, 'Stored'), h('dd', {}, `${formatBytes(dataset.bytes)}, ${formatDate(dataset.createdAt)}`))),
      dataset.classCounts && h('section', { class: 'panel', 'aria-labelledby': 'classes-title' },
        h('h2', { id: 'classes-title' }, 'Samples per class'),
        classCountTable(dataset.classCounts, dataset.count))),
    h('section', { class: 'panel', 'aria-labelledby': 'samples-title' },
      h('h2', { id: 'samples-title' }, `Samples ${start + 1}–${end} of ${dataset.count.toLocaleString()}`),
      dataset.width && dataset.height ? sampleGrid(samples, dataset, dataset.width, dataset.height) : sampleTable(samples),
      h('nav', { class: 'actions', 'aria-label': 'Sample pages' },
        start > 0 && h('a', { class: 'button secondary', href: pageHref(Math.max(0, start - SAMPLES_PER_PAGE)) }, '← Previous'),
        end < dataset.count && h('a', { class: 'button secondary', href: pageHref(end) }, 'Next →'))));
}

function classCountTable(counts: number[], total: number): HTMLElement {
  return h('ul', { class: 'bars' }, ...counts.map((count, label) => h('li', { class: 'bar-row' },
    h('span', { class: 'bar-label' }, label),
    h('span', { class: 'bar-track', 'aria-hidden': 'true' }, h('span', { class: 'bar-fill', style: `display: block; width: ${(100 * count / Math.max(...counts)).toFixed(1)}%` })),
    h('span', { class: 'bar-value' }, `${count} (${formatPercent(count / total)})`))));
}

function sampleGrid(samples: Sample[], dataset: Dataset, width: number, height: number): HTMLElement {
  const scale = dataset.inputKind === 'bytes' ? 1 : 255;
  return h('ul', { class: 'samples' }, ...samples.map((sample) => h('li', {},
    h('figure', {}, sampleCanvas(sample, width, height, scale), h('figcaption', {}, `#${sample.index}: `, h('strong', {}, sample.label ?? '–'))))));
}

function sampleTable(samples: Sample[]): HTMLElement {
  return scrollBox(h('table', {},
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, '#'), h('th', { scope: 'col' }, 'Inputs'), h('th', { scope: 'col' }, 'Label or target'))),
    h('tbody', {}, ...samples.map((sample) => h('tr', {},
      h('th', { scope: 'row' }, sample.index),
      h('td', { class: 'mono' }, sample.pixels.join(', ')),
      h('td', { class: 'mono' }, sample.label ?? sample.target?.join(', ') ?? '–'))))));
}
