/**
 * A least-recently-used cache of loads in flight or done: concurrent requests for a model
 * share one load, and a failed load is forgotten so the next request tries again. Entries
 * that leave the cache are handed to `release` once loaded.
 */
export class LruCache<T> {
  private readonly entries = new Map<string, Promise<T>>();

  constructor(private readonly capacity: number, private readonly release: (value: T) => void = () => {}) {}

  get(key: string, load: () => Promise<T>): Promise<T> {
    const cached = this.entries.get(key);
    if (cached) {
      this.entries.delete(key);
      this.entries.set(key, cached);
      return cached;
    }
    const loading = load();
    this.entries.set(key, loading);
    loading.catch(() => {
      if (this.entries.get(key) === loading) this.entries.delete(key);
    });
    while (this.entries.size > this.capacity) this.delete(this.entries.keys().next().value as string);
    return loading;
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    entry.then(this.release, () => {});
  }

  clear(): void {
    for (const key of [...this.entries.keys()]) this.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
