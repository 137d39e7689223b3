import { SnapshotFormatError } from './errors.js';
import { Network, parameterCount, type NetworkOptions } from './network.js';
import { checkTrainingConfig } from './training-config.js';
import type { EpochMetrics, TrainingConfig } from './types.js';

/**
 * Snapshot layout, all little-endian:
 *   0  "MLPS"                magic
 *   4  u32 formatVersion
 *   8  u32 headerBytes       length of the JSON header, padded with spaces to a multiple of 4
 *  12  JSON header           { formatVersion, kind, config, parameterCount, epochsCompleted, training?, sections }
 *   …  float32 sections      in header order: "params", then for checkpoints "optimizer" and maybe "bestParams"
 */
export const SNAPSHOT_MAGIC = 'MLPS';
export const SNAPSHOT_FORMAT_VERSION = 2;
const PREAMBLE_BYTES = 12;

/** Where a run stands between two steps: enough, with the buffers, to continue it bit for bit. */
export interface TrainingState {
  /** Epochs fully completed; the next epoch to run has this index. */
  epochsCompleted: number;
  /** Steps already taken within the current epoch (0 at an epoch boundary). */
  stepInEpoch: number;
  /** Optimizer steps taken in the whole run. */
  step: number;
  /** State of the shuffling RNG from which the current (or next) epoch's order is drawn. */
  shuffleRngState: number[];
  /** State of the RNG for dropout and augmentation. */
  noiseRngState: number[];
  epochLossSum: number;
  epochCorrect: number;
  epochSeen: number;
  /** Lowest monitored loss (validation, else training) of the current attempt, and its epoch. */
  bestLoss: number | null;
  bestEpoch: number | null;
  bestMetrics: EpochMetrics | null;
  epochsWithoutImprovement: number;
  /** Loss of the attempt's first step, and an exponential moving average of the loss, to detect divergence. */
  initialLoss: number | null;
  smoothedLoss: number | null;
  /** Fresh starts taken after stalls, and the step the current attempt began at. */
  restarts: number;
  /** Training accuracy at which the attempt before the current one stalled; null before any fresh start (and in older checkpoints). */
  stallAccuracy?: number | null;
  /** Plateaus that cut the rate by RATE_DROP in this attempt. */
  rateDrops: number;
  attemptStartStep: number;
  attemptStartEpoch: number;
  /** Training loss at the last plateau check of this attempt (see Trainer.plateaued). */
  plateauReferenceLoss: number | null;
}

export interface SnapshotSection {
  name: 'params' | 'optimizer' | 'bestParams';
  length: number;
}

export interface SnapshotHeader {
  formatVersion: number;
  /** "model" holds weights only; "checkpoint" can resume training. */
  kind: 'model' | 'checkpoint';
  config: TrainingConfig;
  parameterCount: number;
  epochsCompleted: number;
  training?: TrainingState;
  sections: SnapshotSection[];
}

export interface Snapshot {
  header: SnapshotHeader;
  sections: Partial<Record<SnapshotSection['name'], Float32Array>>;
}

export function encodeSnapshot(
  header: Omit<SnapshotHeader, 'sections' | 'formatVersion'>,
  sections: Partial<Record<SnapshotSection['name'], ArrayLike<number>>>,
): Uint8Array {
  const names = (['params', 'optimizer', 'bestParams'] as const).filter((name) => sections[name] !== undefined);
  const full: SnapshotHeader = {
    formatVersion: SNAPSHOT_FORMAT_VERSION,
    ...header,
    sections: names.map((name) => ({ name, length: sections[name]!.length })),
  };
  let json = new TextEncoder().encode(JSON.stringify(full));
  const padded = Math.ceil(json.length / 4) * 4;
  if (padded !== json.length) {
    const withSpaces = new Uint8Array(padded).fill(0x20);
    withSpaces.set(json);
    json = withSpaces;
  }
  const floats = full.sections.reduce((sum, section) => sum + section.length, 0);
  const bytes = new Uint8Array(PREAMBLE_BYTES + padded + floats * 4);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode(SNAPSHOT_MAGIC), 0);
  view.setUint32(4, SNAPSHOT_FORMAT_VERSION, true);
  view.setUint32(8, padded, true);
  bytes.set(json, PREAMBLE_BYTES);
  // Typed arrays are little-endian on every platform Node runs on, so the float bytes copy as they are.
  const body = new Float32Array(bytes.buffer, PREAMBLE_BYTES + padded, floats);
  let offset = 0;
  for (const name of names) {
    body.set(sections[name]!, offset);
    offset += sections[name]!.length;
  }
  return bytes;
}

export function readSnapshotHeader(bytes: Uint8Array): SnapshotHeader {
  if (bytes.length < PREAMBLE_BYTES) throw new SnapshotFormatError('too short to be a model snapshot');
  if (new TextDecoder().decode(bytes.subarray(0, 4)) !== SNAPSHOT_MAGIC) {
    throw new SnapshotFormatError('not a model snapshot (the file does not start with "MLPS")');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(4, true);
  if (version !== SNAPSHOT_FORMAT_VERSION) {
    throw new SnapshotFormatError(`snapshot format version ${version} is not supported (this build reads version ${SNAPSHOT_FORMAT_VERSION})`);
  }
  const headerBytes = view.getUint32(8, true);
  if (headerBytes % 4 !== 0 || PREAMBLE_BYTES + headerBytes > bytes.length) {
    throw new SnapshotFormatError('the snapshot header is truncated');
  }
  let header: SnapshotHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(PREAMBLE_BYTES, PREAMBLE_BYTES + headerBytes))) as SnapshotHeader;
  } catch {
    throw new SnapshotFormatError('the snapshot header is not valid JSON');
  }
  if (!header || typeof header !== 'object' || !header.config || !Array.isArray(header.sections)) {
    throw new SnapshotFormatError('the snapshot header lacks its config or sections');
  }
  try {
    checkTrainingConfig(header.config);
  } catch (error) {
    throw new SnapshotFormatError(`the snapshot's config is invalid: ${(error as Error).message}`);
  }
  const floats = header.sections.reduce((sum, section) => sum + section.length, 0);
  if (bytes.length !== PREAMBLE_BYTES + headerBytes + floats * 4) {
    throw new SnapshotFormatError('the snapshot is truncated or has trailing bytes');
  }
  const expected = parameterCount(header.config.shape);
  if (header.parameterCount !== expected || header.sections[0]?.name !== 'params' || header.sections[0].length !== expected) {
    throw new SnapshotFormatError(`the snapshot should hold ${expected} parameters for shape [${header.config.shape.join(', ')}]`);
  }
  return header;
}

export function decodeSnapshot(bytes: Uint8Array): Snapshot {
  const header = readSnapshotHeader(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = PREAMBLE_BYTES + view.getUint32(8, true);
  const sections: Snapshot['sections'] = {};
  for (const section of header.sections) {
    const floats = new Float32Array(section.length);
    // Copy through bytes: `bytes` may start at any offset of its buffer, so it cannot always be viewed as floats.
    new Uint8Array(floats.buffer).set(bytes.subarray(offset, offset + section.length * 4));
    sections[section.name] = floats;
    offset += section.length * 4;
  }
  return { header, sections };
}

/** A network ready for inference, from a model snapshot or a checkpoint. */
export function loadNetwork(bytes: Uint8Array, options: NetworkOptions = {}): Network {
  const { header, sections } = decodeSnapshot(bytes);
  const network = new Network(header.config, options);
  network.params.set(sections.params!);
  return network;
}
