import type { DatasetRecord } from './dataset-schema.js';

/**
 * Why a network of this shape cannot train on (or be evaluated against) the dataset, in
 * words that say what to change; null when it fits. Works from the metadata alone.
 */
export function shapeMismatch(shape: readonly number[], dataset: DatasetRecord): string | null {
  const inputs = shape[0];
  const outputs = shape[shape.length - 1];
  if (inputs !== dataset.inputSize) {
    return `shape[0] is ${inputs} but dataset ${dataset.id} has ${dataset.inputSize} values per sample; start the shape with ${dataset.inputSize}`;
  }
  if (dataset.numClasses === null) {
    return outputs === dataset.targetSize ? null
      : `the shape ends with ${outputs} outputs but dataset ${dataset.id} has ${dataset.targetSize} target values per sample; end the shape with ${dataset.targetSize}`;
  }
  if (outputs === 1) {
    return dataset.numClasses <= 2 ? null
      : `a single output separates two classes, but dataset ${dataset.id} has ${dataset.numClasses}; end the shape with ${dataset.numClasses}`;
  }
  return outputs === dataset.numClasses ? null
    : `the shape ends with ${outputs} outputs but dataset ${dataset.id} has ${dataset.numClasses} classes (labels 0..${dataset.numClasses - 1}); end the shape with ${dataset.numClasses}`;
}
