import type { Dataset } from '../core/types.js';
import { AppError } from '../errors.js';
import type { DatasetRecord } from './dataset-schema.js';

export type DatasetSummary = Pick<
  DatasetRecord,
  'count' | 'inputSize' | 'width' | 'height' | 'inputKind' | 'numClasses' | 'classCounts' | 'targetSize' | 'targetRange' | 'warnings'
>;

/** The most and fewest samples two classes may have before the dataset is called unbalanced. */
const UNBALANCED_RATIO = 10;

/** What a person should know about a labelled dataset before training on it: empty or rare classes. */
export function classBalanceWarnings(classCounts: readonly number[]): string[] {
  const warnings: string[] = [];
  const empty = classCounts.flatMap((count, label) => (count === 0 ? [label] : []));
  if (empty.length > 0) {
    warnings.push(`class${empty.length === 1 ? '' : 'es'} ${empty.join(', ')} ${empty.length === 1 ? 'has' : 'have'} no samples: a model cannot learn ${empty.length === 1 ? 'it' : 'them'}`);
  }
  const present = classCounts.map((count, label) => ({ count, label })).filter(({ count }) => count > 0);
  if (present.length < 2) return warnings;
  const most = present.reduce((a, b) => (b.count > a.count ? b : a));
  const fewest = present.reduce((a, b) => (b.count < a.count ? b : a));
  if (most.count >= UNBALANCED_RATIO * fewest.count) {
    warnings.push(`the classes are unbalanced: class ${most.label} has ${most.count} samples and class ${fewest.label} only ${fewest.count} (${Math.round(most.count / fewest.count)}x); accuracy flatters a model that neglects the rare classes, so read the per-class recall of POST /models/:id/evaluate`);
  }
  return warnings;
}

/**
 * What the metadata says about a parsed dataset. Labels must be below `numClasses`
 * when it is given; otherwise the classes run from 0 to the largest label.
 */
export function summarizeDataset(dataset: Dataset, field: string, numClasses?: number): DatasetSummary {
  const shape = {
    count: dataset.count,
    inputSize: dataset.inputSize,
    ...(dataset.width !== undefined && { width: dataset.width, height: dataset.height }),
    inputKind: dataset.inputs instanceof Uint8Array ? ('bytes' as const) : ('floats' as const),
  };
  const { labels } = dataset;
  if (!labels) {
    const targets = dataset.targets ?? new Float32Array(0);
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < targets.length; i++) {
      if (targets[i] < min) min = targets[i];
      if (targets[i] > max) max = targets[i];
    }
    const targetRange = targets.length > 0 ? { min, max } : null;
    return { ...shape, numClasses: null, classCounts: null, targetSize: targets.length / dataset.count, targetRange, warnings: [] };
  }
  let maxLabel = 0;
  for (let i = 0; i < labels.length; i++) {
    if (numClasses !== undefined && labels[i] >= numClasses) {
      throw new AppError(
        'LABEL_OUT_OF_RANGE',
        `${field}: sample ${i} has label ${labels[i]}, but numClasses is ${numClasses} (labels 0..${numClasses - 1})`,
        { field, sample: i, label: labels[i], numClasses },
      );
    }
    if (labels[i] > maxLabel) maxLabel = labels[i];
  }
  const classes = numClasses ?? maxLabel + 1;
  const classCounts = new Array<number>(classes).fill(0);
  for (let i = 0; i < labels.length; i++) classCounts[labels[i]]++;
  return { ...shape, numClasses: classes, classCounts, targetSize: null, targetRange: null, warnings: classBalanceWarnings(classCounts) };
}
