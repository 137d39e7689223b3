import { API_KEY_COOKIE, API_KEY_COOKIE_PATH } from '../src/api/api-key-cookie.js';
import type { ErrorResponse } from '../src/api/schemas/errors.js';

const API_KEY_STORAGE = 'mlp-api-key';

/** The API key once the user has given one (after a 401): kept for this tab only and sent with every request. */
export const apiKey = {
  get: (): string | null => sessionStorage.getItem(API_KEY_STORAGE),
  set(key: string): void {
    sessionStorage.setItem(API_KEY_STORAGE, key);
    writeApiKeyCookie(key);
  },
};

/** EventSource cannot send headers, so the job event streams read the key from a cookie scoped to them. */
function writeApiKeyCookie(key: string): void {
  const secure = location.protocol === 'https:' ? '; Secure' : '';
  document.cookie = `${API_KEY_COOKIE}=${encodeURIComponent(key)}; Path=${API_KEY_COOKIE_PATH}; SameSite=Strict${secure}`;
}

function authorization(): Record<string, string> {
  const key = apiKey.get();
  return key === null ? {} : { authorization: `Bearer ${key}` };
}

/** An answer the UI can show: the API's own code and message, or why the service could not be reached. */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(readonly status: number, readonly code: string, message: string, readonly fields: string[] = []) {
    super(message);
  }
}

/**
 * The request fields an error names, as `learningRate`: from `details.issues[].field` of a
 * schema error (`body.learningRate`) or `details.field` of a service check. The UI marks those inputs.
 */
function fieldsOf(body: ErrorResponse): string[] {
  const details = body.error.details ?? {};
  const named = Array.isArray(details.issues) ? details.issues.map((issue: unknown) => (issue as { field?: unknown }).field) : [details.field];
  return named.flatMap((field) => (typeof field === 'string' ? [field.replace(/^body\./, '')] : []));
}

function isErrorResponse(body: unknown): body is ErrorResponse {
  const error = (body as ErrorResponse | null)?.error;
  return typeof error?.code === 'string' && typeof error.message === 'string';
}

/** Turns an answer's status and text into its JSON, or into an ApiError with the API's message. */
function parseAnswer<T>(status: number, statusText: string, text: string): T {
  let body: unknown = null;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    if (status < 400) throw new ApiError(status, 'BAD_ANSWER', `The service answered ${status} with something that is not JSON`);
  }
  if (status >= 400) {
    if (isErrorResponse(body)) throw new ApiError(status, body.error.code, body.error.message, fieldsOf(body));
    throw new ApiError(status, 'HTTP_ERROR', `The service answered ${status} ${statusText}`);
  }
  return body as T;
}

const UNREACHABLE = 'Cannot reach the service: check that it is running, then reload the page';

async function call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: body === undefined ? authorization() : { ...authorization(), 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError(0, 'UNREACHABLE', UNREACHABLE);
  }
  return parseAnswer<T>(response.status, response.statusText, await response.text());
}

/** The most items one page of a list route gives; the dashboard asks for that many. */
export const LIST_PAGE_MAX = 100;

export const api = {
  get: <T>(path: string, signal?: AbortSignal) => call<T>('GET', path, undefined, signal),
  post: <T>(path: string, body: unknown, signal?: AbortSignal) => call<T>('POST', path, body, signal),
  patch: <T>(path: string, body: unknown) => call<T>('PATCH', path, body),
  put: <T>(path: string, body: unknown) => call<T>('PUT', path, body),
  delete: <T>(path: string) => call<T>('DELETE', path),
};

export interface UploadProgress {
  sentBytes: number;
  totalBytes: number;
}

/**
 * Posts a multipart form with XMLHttpRequest, whose upload events give progress (fetch has none).
 * Resolves with the answer's status, so the caller can tell a new dataset (201) from a known one (200).
 */
export function uploadForm<T>(path: string, form: FormData, onProgress: (progress: UploadProgress) => void): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', path);
    for (const [name, value] of Object.entries(authorization())) request.setRequestHeader(name, value);
    request.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress({ sentBytes: event.loaded, totalBytes: event.total });
    });
    request.addEventListener('load', () => {
      try {
        resolve({ status: request.status, body: parseAnswer<T>(request.status, request.statusText, request.responseText) });
      } catch (error) {
        reject(error);
      }
    });
    request.addEventListener('error', () => reject(new ApiError(0, 'UNREACHABLE', UNREACHABLE)));
    request.send(form);
  });
}

/** Handlers for the named events of a Server-Sent Events stream, one per event name. */
export type EventHandlers<Events> = { [Name in keyof Events]: (data: Events[Name]) => void };

/**
 * Follows a Server-Sent Events stream until `signal` aborts or the returned function is called.
 * The browser reconnects by itself after a dropped connection; `onTrouble` hears about each drop.
 */
export function followEvents<Events>(path: string, signal: AbortSignal, handlers: EventHandlers<Events>, onTrouble: () => void): () => void {
  const key = apiKey.get();
  if (key !== null) writeApiKeyCookie(key);
  const source = new EventSource(path);
  for (const name of Object.keys(handlers) as (keyof Events & string)[]) {
    source.addEventListener(name, (message) => handlers[name](JSON.parse(message.data) as Events[typeof name]));
  }
  source.addEventListener('error', onTrouble);
  const close = () => source.close();
  signal.addEventListener('abort', close);
  return close;
}
