import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertValidKey, assertValidPrefix, BlobNotFoundError, type BlobStore, type ByteRange } from './blob-store.js';

const TEMP_SUFFIX = '.tmp';

/** Blobs as files under one root directory; a key's slashes become folders. */
export class FsBlobStore implements BlobStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  async put(key: string, body: Readable | Uint8Array): Promise<{ bytes: number }> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.${randomUUID()}${TEMP_SUFFIX}`;
    try {
      if (body instanceof Uint8Array) {
        await writeFile(temp, body, { flush: true });
      } else {
        await pipeline(body, createWriteStream(temp, { flush: true }));
      }
      const { size } = await stat(temp);
      await rename(temp, path);
      return { bytes: size };
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const path = this.pathOf(key);
    const stream = createReadStream(path, range && { start: range.start, end: range.end - 1 });
    await new Promise<void>((ready, fail) => {
      stream.once('open', () => ready());
      stream.once('error', (error: NodeJS.ErrnoException) => fail(error.code === 'ENOENT' ? new BlobNotFoundError(key) : error));
    });
    return stream;
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async list(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    const files = await this.filesUnder(prefix.slice(0, prefix.lastIndexOf('/') + 1));
    return files.filter((key) => !key.endsWith(TEMP_SUFFIX) && key.startsWith(prefix)).sort();
  }

  async sweep(prefixes: readonly string[], before: Date): Promise<number> {
    prefixes.forEach(assertValidPrefix);
    let removed = 0;
    for (const file of await this.filesUnder('')) {
      if (!file.endsWith(TEMP_SUFFIX) && !prefixes.some((prefix) => file.startsWith(prefix))) continue;
      const path = join(this.root, ...file.split('/'));
      const written = await stat(path).then((stats) => stats.mtime, () => null);
      if (written === null || written >= before) continue;
      await rm(path, { force: true });
      removed++;
    }
    return removed;
  }

  /** Every file under a folder of the root, as a key-like path with forward slashes. */
  private async filesUnder(folder: string): Promise<string[]> {
    let entries;
    try {
      entries = await readdir(join(this.root, folder), { recursive: true, withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return entries.filter((entry) => entry.isFile()).map((entry) => relative(this.root, join(entry.parentPath, entry.name)).split(sep).join('/'));
  }

  private pathOf(key: string): string {
    assertValidKey(key);
    return join(this.root, ...key.split('/'));
  }
}
