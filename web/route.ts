/** Where the page is: `#/jobs/job_123?x=1` is path ['jobs', 'job_123'] and query x=1. */
export interface Route {
  path: string[];
  query: URLSearchParams;
}

/** A page draws itself into `root`; `signal` aborts when the user leaves it, to stop streams and polling. */
export type Page = (root: HTMLElement, route: Route, signal: AbortSignal) => Promise<void>;

export function currentRoute(): Route {
  const [path = '', query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  return { path: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query) };
}

export const jobHref = (id: string): string => `#/jobs/${encodeURIComponent(id)}`;
export const datasetHref = (id: string): string => `#/datasets/${encodeURIComponent(id)}`;
export const compareHref = (ids: string[]): string => `#/compare?jobs=${ids.map(encodeURIComponent).join(',')}`;
export const predictHref = (modelId: string): string => `#/predict?model=${encodeURIComponent(modelId)}`;
/** The jobs page's form filled with a job's settings, and with its diagnosis's suggestions when `withAdvice`. */
export const cloneHref = (id: string, withAdvice: boolean): string => `#/jobs?from=${encodeURIComponent(id)}${withAdvice ? '&advice' : ''}`;
export const registryHref = (name?: string): string => (name === undefined ? '#/registry' : `#/registry/${encodeURIComponent(name)}`);
export const sweepHref = (id: string): string => `#/sweeps/${encodeURIComponent(id)}`;
