import { apiKey } from './api.js';
import { field, h, notice, show } from './dom.js';

/**
 * Asks for the API key after the service answered 401, then draws the page again with it.
 * The key stays in this browser tab (sessionStorage), so closing the tab forgets it.
 */
export function showApiKeyPrompt(root: HTMLElement, retry: () => void): void {
  const refused = apiKey.get() !== null;
  const input = h('input', { type: 'password', name: 'apiKey', required: true, autocomplete: 'off', spellcheck: 'false' });
  const form = h('form', { novalidate: true },
    field('API key', input, 'Kept in this browser tab only and sent with each request'),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Use this key')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (key === '') {
      input.setAttribute('aria-invalid', 'true');
      return;
    }
    apiKey.set(key);
    retry();
  });
  show(root,
    h('h1', {}, 'API key needed'),
    refused
      ? notice('error', h('p', {}, 'The service refused the API key this tab was using: enter the current one.'))
      : notice('info', h('p', {}, 'This service asks for an API key (its API_KEY or API_KEYS setting). Enter it to continue.')),
    h('section', { class: 'panel' }, form));
  input.focus();
}
