import type { Dataset } from '../core/types.js';
import { AppError } from '../errors.js';
import type { DatasetRecord } from './dataset-schema.js';

export type DatasetSummary = Pick<
  DatasetRecord,
  'count' | 'inputSize' | 'width' | 'height' | 'inputKind' | 'numClasses' | 'classCounts' | 'targetSize'
>;

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
    return { ...shape, numClasses: null, classCounts: null, targetSize: (dataset.targets?.length ?? 0) / dataset.count };
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
  return { ...shape, numClasses: classes, classCounts, targetSize: null };
}
