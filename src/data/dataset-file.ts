import type { Dataset } from '../core/types.js';

/**
 * The compact on-disk form of a dataset, so a worker loads one with a single read and
 * no parsing: a 32-byte little-endian header, then the inputs, then the labels or targets.
 *
 *   0  "MLPD"            4  u16 version       6  u8 input kind    7  u8 answer kind
 *   8  u32 count        12  u32 inputSize     16 u32 targetSize  20  u16 width  22 u16 height
 *   24 reserved (zero) until 32
 *
 * Sections start on 4-byte boundaries so float sections can be viewed without copying.
 */
const MAGIC = 'MLPD';
const FORMAT_VERSION = 1;
export const DATASET_HEADER_BYTES = 32;

const INPUT_KINDS = ['bytes', 'floats'] as const;
const ANSWER_KINDS = ['labels', 'targets'] as const;

export interface DatasetFileHeader {
  count: number;
  inputSize: number;
  inputKind: (typeof INPUT_KINDS)[number];
  answerKind: (typeof ANSWER_KINDS)[number];
  /** Values per target row; 0 for labels. */
  targetSize: number;
  /** 0 when the samples are not images. */
  width: number;
  height: number;
}

export class DatasetFileError extends Error {
  override readonly name = 'DatasetFileError';
}

const alignTo4 = (bytes: number): number => Math.ceil(bytes / 4) * 4;

/** Byte offsets and lengths of each section, from the header alone. */
export function datasetLayout(header: DatasetFileHeader) {
  const inputBytesPerSample = header.inputSize * (header.inputKind === 'bytes' ? 1 : 4);
  const answerBytesPerSample = header.answerKind === 'labels' ? 1 : header.targetSize * 4;
  const inputsOffset = DATASET_HEADER_BYTES;
  const answersOffset = inputsOffset + alignTo4(header.count * inputBytesPerSample);
  const totalBytes = answersOffset + alignTo4(header.count * answerBytesPerSample);
  return { inputBytesPerSample, answerBytesPerSample, inputsOffset, answersOffset, totalBytes };
}

function headerOf(dataset: Dataset): DatasetFileHeader {
  return {
    count: dataset.count,
    inputSize: dataset.inputSize,
    inputKind: dataset.inputs instanceof Uint8Array ? 'bytes' : 'floats',
    answerKind: dataset.labels ? 'labels' : 'targets',
    targetSize: dataset.labels ? 0 : (dataset.targets?.length ?? 0) / dataset.count,
    width: dataset.width ?? 0,
    height: dataset.height ?? 0,
  };
}

/** The size encodeDataset will allocate. */
export function encodedDatasetBytes(dataset: Dataset): number {
  return datasetLayout(headerOf(dataset)).totalBytes;
}

export function encodeDataset(dataset: Dataset): Uint8Array {
  const header = headerOf(dataset);
  const layout = datasetLayout(header);
  const bytes = new Uint8Array(layout.totalBytes);
  const view = new DataView(bytes.buffer);
  bytes.set(Buffer.from(MAGIC, 'ascii'), 0);
  view.setUint16(4, FORMAT_VERSION, true);
  view.setUint8(6, INPUT_KINDS.indexOf(header.inputKind));
  view.setUint8(7, ANSWER_KINDS.indexOf(header.answerKind));
  view.setUint32(8, header.count, true);
  view.setUint32(12, header.inputSize, true);
  view.setUint32(16, header.targetSize, true);
  view.setUint16(20, header.width, true);
  view.setUint16(22, header.height, true);
  const inputs = dataset.inputs;
  bytes.set(new Uint8Array(inputs.buffer, inputs.byteOffset, inputs.byteLength), layout.inputsOffset);
  const answers = dataset.labels ?? dataset.targets;
  if (answers) bytes.set(new Uint8Array(answers.buffer, answers.byteOffset, answers.byteLength), layout.answersOffset);
  return bytes;
}

export function readDatasetHeader(bytes: Uint8Array): DatasetFileHeader {
  if (bytes.length < DATASET_HEADER_BYTES || Buffer.from(bytes.subarray(0, 4)).toString('ascii') !== MAGIC) {
    throw new DatasetFileError('not a dataset file (bad magic)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, DATASET_HEADER_BYTES);
  const version = view.getUint16(4, true);
  if (version !== FORMAT_VERSION) throw new DatasetFileError(`dataset file version ${version} is not supported`);
  const inputKind = INPUT_KINDS[view.getUint8(6)];
  const answerKind = ANSWER_KINDS[view.getUint8(7)];
  if (!inputKind || !answerKind) throw new DatasetFileError('dataset file has an unknown section kind');
  return {
    count: view.getUint32(8, true),
    inputSize: view.getUint32(12, true),
    inputKind,
    answerKind,
    targetSize: view.getUint32(16, true),
    width: view.getUint16(20, true),
    height: view.getUint16(22, true),
  };
}

/** Views into `bytes` (no copy when they are 4-byte aligned, as a fresh file read is). */
export function decodeDataset(bytes: Uint8Array): Dataset {
  const header = readDatasetHeader(bytes);
  const layout = datasetLayout(header);
  if (bytes.length !== layout.totalBytes) {
    throw new DatasetFileError(`dataset file is ${bytes.length} bytes; its header implies ${layout.totalBytes}`);
  }
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const { buffer, byteOffset } = aligned;
  const inputValues = header.count * header.inputSize;
  const inputs = header.inputKind === 'bytes'
    ? new Uint8Array(buffer, byteOffset + layout.inputsOffset, inputValues)
    : new Float32Array(buffer, byteOffset + layout.inputsOffset, inputValues);
  return {
    count: header.count,
    inputSize: header.inputSize,
    inputs,
    labels: header.answerKind === 'labels' ? new Uint8Array(buffer, byteOffset + layout.answersOffset, header.count) : null,
    targets: header.answerKind === 'targets'
      ? new Float32Array(buffer, byteOffset + layout.answersOffset, header.count * header.targetSize)
      : null,
    ...(header.width > 0 && { width: header.width, height: header.height }),
  };
}
