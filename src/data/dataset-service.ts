import { createHash, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Dataset } from '../core/types.js';
import { AppError } from '../errors.js';
import type { PageQuery } from '../storage/paging.js';
import { BlobNotFoundError, readBlob, type BlobStore } from '../storage/blob-store.js';
import { newId } from '../storage/ids.js';
import { parseCsv, type CsvOptions } from './csv.js';
import { datasetLayout, DATASET_HEADER_BYTES, encodedDatasetBytes, encodeDataset, readDatasetHeader } from './dataset-file.js';
import { nameFromFilename, uploadFieldsSchema, type DatasetRecord, type DatasetView, type Sample } from './dataset-schema.js';
import type { DatasetStore } from './dataset-store.js';
import { summarizeDataset } from './dataset-summary.js';
import { datasetFromIdx, readIdxImages, readIdxLabels } from './idx.js';
import { parseJsonDataset } from './json-dataset.js';
import { UploadCapacity, type MemoryBudget } from './upload-capacity.js';
import { prepend, uploadBytes } from './upload-bytes.js';

/** One part of a multipart upload, as the route hands it over. */
export type UploadPart =
  | { kind: 'file'; field: string; filename: string; stream: Readable }
  | { kind: 'field'; field: string; value: string };

const FILE_FIELDS = ['images', 'labels', 'file'] as const;
const TEXT_FIELDS = Object.keys(uploadFieldsSchema.shape);
const ACCEPTED = `files "images" + "labels" (an IDX pair) or "file" (CSV or JSON), and optional fields ${TEXT_FIELDS.join(', ')}`;

export const datasetBlobKey = (id: string): string => `datasets/${id}.mlpd`;
/** Where uploaded files wait while they are checked; anything left here is an orphan of a crashed upload. */
export const UPLOAD_TEMP_PREFIX = 'uploads/';

export interface DatasetServiceOptions {
  maxDecompressedBytes: number;
  capacity: UploadCapacity;
}

interface ReceivedUpload {
  /** Temporary blob key of each file field received. */
  files: Map<string, { key: string; filename: string }>;
  fields: Record<string, string>;
}

/** Uploading, reading and deleting datasets: the files go to storage, the metadata to Redis. */
export class DatasetService {
  constructor(
    private readonly store: DatasetStore,
    private readonly blobs: BlobStore,
    private readonly options: DatasetServiceOptions,
  ) {}

  /**
   * Streams each file part to a temporary blob, validates everything, and only then
   * stores the dataset. Whatever fails, the temporary blobs are removed.
   */
  async upload(parts: AsyncIterable<UploadPart>): Promise<{ dataset: DatasetRecord; created: boolean }> {
    const budget = this.options.capacity.admit();
    const received: ReceivedUpload = { files: new Map(), fields: {} };
    try {
      await this.receive(parts, received);
      const fields = uploadFieldsSchema.safeParse(received.fields);
      if (!fields.success) {
        const issue = fields.error.issues[0];
        throw new AppError('VALIDATION_FAILED', `${issue.path.join('.')}: ${issue.message}`, { field: issue.path.join('.') });
      }
      const { format, dataset, field, filename } = await this.parse(received.files, budget, fields.data);
      const summary = summarizeDataset(dataset, field, fields.data.numClasses);
      return await this.save(dataset, { ...summary, format, name: fields.data.name ?? nameFromFilename(filename, format) }, budget);
    } finally {
      budget.release();
      await Promise.all([...received.files.values()].map(({ key }) => this.blobs.delete(key)));
    }
  }

  private async receive(parts: AsyncIterable<UploadPart>, received: ReceivedUpload): Promise<void> {
    for await (const part of parts) {
      const known: readonly string[] = part.kind === 'file' ? FILE_FIELDS : TEXT_FIELDS;
      if (!known.includes(part.field)) {
        throw new AppError('UNKNOWN_FIELD', `unknown ${part.kind === 'file' ? 'file' : 'text'} field "${part.field}"; send ${ACCEPTED}`, { field: part.field });
      }
      if (received.files.has(part.field) || part.field in received.fields) {
        throw new AppError('DUPLICATE_FIELD', `the field "${part.field}" is sent twice`, { field: part.field });
      }
      if (part.kind === 'field') {
        received.fields[part.field] = part.value;
        continue;
      }
      const key = `${UPLOAD_TEMP_PREFIX}${randomUUID()}`;
      received.files.set(part.field, { key, filename: part.filename });
      await this.blobs.put(key, part.stream);
    }
  }

  private async parse(files: ReceivedUpload['files'], budget: MemoryBudget, csv: CsvOptions): Promise<{ format: DatasetRecord['format']; dataset: Dataset; field: string; filename: string }> {
    const images = files.get('images');
    const labels = files.get('labels');
    const file = files.get('file');
    if (file && (images || labels)) {
      throw new AppError('VALIDATION_FAILED', 'send either "images" + "labels" or "file", not both', { field: 'file' });
    }
    if (file) {
      const content = this.content(file.key, 'file');
      const first = await content.next();
      const bytes = prepend(first.done ? Buffer.alloc(0) : first.value, content);
      // An array is JSON too: the JSON parser then says what shape a dataset has.
      const isJson = !first.done && /^[{[]/.test(first.value.toString('utf8', 0, 64).trimStart());
      const dataset = isJson ? await parseJsonDataset(bytes, 'file', budget) : await parseCsv(bytes, 'file', budget, csv);
      return { format: isJson ? 'json' : 'csv', dataset, field: 'file', filename: file.filename };
    }
    if (!images || !labels) {
      const missing = images ? 'labels' : labels ? 'images' : 'images" + "labels" or "file';
      throw new AppError('MISSING_PART', `the upload has no "${missing}" part; send ${ACCEPTED}`, { field: missing });
    }
    const { maxDecompressedBytes } = this.options;
    const idxImages = await readIdxImages(this.content(images.key, 'images'), 'images', maxDecompressedBytes, budget);
    const idxLabels = await readIdxLabels(this.content(labels.key, 'labels'), 'labels', maxDecompressedBytes, budget);
    return { format: 'idx', dataset: datasetFromIdx(idxImages, idxLabels), field: 'labels', filename: images.filename };
  }

  private async *content(key: string, field: string): AsyncGenerator<Buffer> {
    yield* uploadBytes(await this.blobs.get(key), { field, maxDecompressedBytes: this.options.maxDecompressedBytes });
  }

  private async save(dataset: Dataset, described: Omit<DatasetRecord, 'id' | 'sha256' | 'bytes' | 'createdAt'>, budget: MemoryBudget): Promise<{ dataset: DatasetRecord; created: boolean }> {
    budget.reserve(encodedDatasetBytes(dataset), 'the stored form of the dataset');
    const bytes = encodeDataset(dataset);
    // The class count is part of what a dataset means: the same bytes with another numClasses are another dataset.
    const sha256 = createHash('sha256').update(bytes).update(`numClasses=${described.numClasses}`).digest('hex');
    const existing = await this.existingWithSha(sha256);
    if (existing) {
      // Redis can outlive the data dir (a wiped or new DATA_DIR on the same Redis): the record then
      // points at nothing, and these bytes are exactly what it describes, so put them back.
      if (!(await this.hasBlob(datasetBlobKey(existing.id)))) await this.blobs.put(datasetBlobKey(existing.id), bytes);
      return { dataset: existing, created: false };
    }

    const id = newId('dataset');
    await this.blobs.put(datasetBlobKey(id), bytes);
    const record: DatasetRecord = { id, ...described, sha256, bytes: bytes.length, createdAt: new Date().toISOString() };
    const owner = await this.store.create(record);
    if (owner === id) return { dataset: record, created: true };
    await this.blobs.delete(datasetBlobKey(id));
    return { dataset: await this.get(owner), created: false };
  }

  private async hasBlob(key: string): Promise<boolean> {
    try {
      (await this.blobs.get(key, { start: 0, end: 1 })).destroy();
      return true;
    } catch (error) {
      if (error instanceof BlobNotFoundError) return false;
      throw error;
    }
  }

  private async existingWithSha(sha256: string): Promise<DatasetRecord | null> {
    const id = await this.store.findIdBySha(sha256);
    return id === null ? null : this.store.get(id);
  }

  async get(id: string): Promise<DatasetRecord> {
    const record = await this.store.get(id);
    if (!record) throw new AppError('DATASET_NOT_FOUND', `No dataset has the id ${id}`, { id });
    return record;
  }

  /** The dataset with the jobs and models that use it. */
  async view(id: string): Promise<DatasetView> {
    const record = await this.get(id);
    const [usedBy] = await this.store.usedBy([id]);
    return { ...record, usedBy };
  }

  async list(query: PageQuery): Promise<{ datasets: DatasetView[]; nextCursor: string | null }> {
    const { datasets, nextCursor } = await this.store.list(query.limit, query.cursor);
    const uses = await this.store.usedBy(datasets.map(({ id }) => id));
    return { datasets: datasets.map((record, i) => ({ ...record, usedBy: uses[i] })), nextCursor };
  }

  /** Reads one sample with ranged reads: the header, then the sample's inputs and answer. */
  async sample(id: string, index: number): Promise<Sample> {
    const record = await this.get(id);
    if (index >= record.count) {
      throw new AppError('SAMPLE_NOT_FOUND', `dataset ${id} has ${record.count} samples (indexes 0..${record.count - 1}); there is no sample ${index}`);
    }
    const key = datasetBlobKey(id);
    const header = readDatasetHeader(await readBlob(this.blobs, key, { start: 0, end: DATASET_HEADER_BYTES }));
    const layout = datasetLayout(header);
    const inputStart = layout.inputsOffset + index * layout.inputBytesPerSample;
    const answerStart = layout.answersOffset + index * layout.answerBytesPerSample;
    const [inputBytes, answerBytes] = await Promise.all([
      readBlob(this.blobs, key, { start: inputStart, end: inputStart + layout.inputBytesPerSample }),
      readBlob(this.blobs, key, { start: answerStart, end: answerStart + layout.answerBytesPerSample }),
    ]);
    const floats = (bytes: Buffer): number[] => Array.from(new Float32Array(Uint8Array.from(bytes).buffer));
    return {
      index,
      label: header.answerKind === 'labels' ? answerBytes[0] : null,
      target: header.answerKind === 'targets' ? floats(answerBytes) : null,
      pixels: header.inputKind === 'bytes' ? Array.from(inputBytes) : floats(inputBytes),
    };
  }

  async delete(id: string): Promise<void> {
    const record = await this.get(id);
    const outcome = await this.store.delete(record);
    if (outcome === 'in_use') {
      const [{ jobs, models }] = await this.store.usedBy([id]);
      const reasons = [
        jobs.length > 0 && `queued or running job${jobs.length === 1 ? '' : 's'} ${jobs.join(', ')} use${jobs.length === 1 ? 's' : ''} it (cancel or wait for them)`,
        models.length > 0 && `model${models.length === 1 ? '' : 's'} ${models.join(', ')} ${models.length === 1 ? 'was' : 'were'} trained on it (delete them first)`,
      ].filter(Boolean);
      throw new AppError('DATASET_IN_USE', `dataset ${id} cannot be deleted: ${reasons.join('; and ')}`, { id, jobs, models });
    }
    if (outcome === 'missing') throw new AppError('DATASET_NOT_FOUND', `No dataset has the id ${id}`, { id });
    await this.blobs.delete(datasetBlobKey(id));
  }
}
