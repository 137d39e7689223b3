import { api, LIST_PAGE_MAX } from '../api.js';
import type { ModelList, RegisteredModel } from '../api-types.js';
import { errorText, formatDate, formatPercent, h, notice, show, scrollBox } from '../dom.js';
import { shapeText } from '../job-format.js';
import { jobHref, registryHref, type Page } from '../route.js';

/**
 * The model registry in MLflow's terms: registered names, their versions and the aliases that
 * point at them, with a form to move an alias. The names come from the newest models, since
 * the API lists models rather than names.
 */
export const registryPage: Page = async (root, route, signal) => {
  const name = route.path[1];
  if (name) return registeredModelPage(root, name, signal);
  const { models } = await api.get<ModelList>(`/models?limit=${LIST_PAGE_MAX}`, signal);
  const names = [...new Set(models.flatMap((model) => (model.registered ? [model.registered.name] : [])))].sort();
  show(root,
    h('h1', {}, 'Model registry'),
    h('section', { class: 'panel', 'aria-labelledby': 'names-title' },
      h('h2', { id: 'names-title' }, 'Registered models'),
      names.length === 0
        ? notice('info', h('p', {}, 'No model is registered yet: start a job with registerAs, e.g. "digits", and each model it makes becomes the next version of that name.'))
        : h('ul', {}, ...names.map((registered) => h('li', {}, h('a', { href: registryHref(registered) }, registered))))));
};

async function registeredModelPage(root: HTMLElement, name: string, signal: AbortSignal): Promise<void> {
  const registered = await api.get<RegisteredModel>(`/models/${encodeURIComponent(name)}/versions`, signal);
  const status = h('div', { 'aria-live': 'polite' });
  const aliasInput = h('input', { type: 'text', name: 'alias', required: true, autocomplete: 'off', placeholder: 'production' });
  const versionSelect = h('select', { name: 'version' }, ...registered.versions.map((version) => h('option', { value: version.version }, `version ${version.version}`)).reverse());
  const form = h('form', { class: 'inline-form', 'aria-label': 'Point an alias at a version' },
    h('label', {}, 'Alias ', aliasInput),
    h('label', {}, 'Version ', versionSelect),
    h('button', { type: 'submit' }, 'Point the alias here'));
  const reload = (said: string) => {
    sessionStorage.setItem(REGISTRY_MESSAGE, said);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const alias = aliasInput.value.trim();
    api.put(`/models/${encodeURIComponent(name)}/aliases/${encodeURIComponent(alias)}`, { version: Number(versionSelect.value) })
      .then(() => reload(`${alias} now points at version ${versionSelect.value}.`))
      .catch((error: unknown) => {
        aliasInput.setAttribute('aria-invalid', 'true');
        show(status, notice('error', h('p', {}, errorText(error))));
      });
  });
  const said = sessionStorage.getItem(REGISTRY_MESSAGE);
  sessionStorage.removeItem(REGISTRY_MESSAGE);
  if (said) show(status, notice('success', h('p', {}, said)));

  const rows = [...registered.versions].reverse().map((version) => {
    const accuracy = version.model.metrics?.valAccuracy ?? version.model.metrics?.trainAccuracy;
    return h('tr', {},
      h('td', { 'data-label': 'Version' }, version.version),
      h('td', { 'data-label': 'Aliases' }, ...version.aliases.flatMap((alias) => {
        const remove = h('button', { type: 'button', class: 'danger small', 'aria-label': `Remove alias ${alias}` }, '×');
        remove.addEventListener('click', () => {
          api.delete(`/models/${encodeURIComponent(name)}/aliases/${encodeURIComponent(alias)}`)
            .then(() => reload(`Removed the alias ${alias}.`))
            .catch((error: unknown) => show(status, notice('error', h('p', {}, errorText(error)))));
        });
        return [h('span', { class: 'tag' }, alias, ' ', remove), ' '];
      }), version.aliases.length === 0 && '–'),
      h('td', { 'data-label': 'Model' }, h('span', { class: 'mono' }, version.modelId)),
      h('td', { 'data-label': 'Shape' }, shapeText(version.model.shape)),
      h('td', { 'data-label': 'Accuracy', class: 'number' }, accuracy === undefined ? '–' : formatPercent(accuracy)),
      h('td', { 'data-label': 'Job' }, h('a', { href: jobHref(version.model.jobId) }, 'its run')),
      h('td', { 'data-label': 'Created' }, formatDate(version.model.createdAt)));
  });
  show(root,
    h('p', {}, h('a', { href: registryHref() }, '← All registered models')),
    h('h1', {}, name),
    h('section', { class: 'panel', 'aria-labelledby': 'alias-title' }, h('h2', { id: 'alias-title' }, 'Move an alias'),
      h('p', { class: 'hint' }, `POST /predict takes "${name}@alias": moving the alias moves every client that uses it.`), form, status),
    h('section', { class: 'panel', 'aria-labelledby': 'versions-title' }, h('h2', { id: 'versions-title' }, 'Versions, newest first'),
      scrollBox(h('table', { class: 'cards' },
        h('thead', {}, h('tr', {}, ...['Version', 'Aliases', 'Model', 'Shape', 'Accuracy', 'Job', 'Created'].map((title) => h('th', { scope: 'col' }, title)))),
        h('tbody', {}, ...rows)))));
}

/** What the last alias change did, kept across the page's redraw so it can be said after it. */
const REGISTRY_MESSAGE = 'mlp-registry-message';
