import type { DatasetStore } from '../data/dataset-store.js';
import type { JobSpec, JobState } from './job-schema.js';
import type { JobStore, TransitionOptions } from './job-store.js';

/** Datasets a job holds while it is queued or running, so they cannot be deleted under it. */
export function heldDatasets(spec: JobSpec): string[] {
  return spec.validationDatasetId ? [spec.datasetId, spec.validationDatasetId] : [spec.datasetId];
}

/** Moves a job to a final state, stamps finishedAt, and lets go of its datasets. False when it had already moved on. */
export async function finishJob(
  jobs: JobStore,
  datasets: DatasetStore,
  spec: JobSpec,
  options: Omit<TransitionOptions, 'to'> & { to: Extract<JobState, 'completed' | 'failed' | 'cancelled'> },
): Promise<boolean> {
  const moved = await jobs.transition(spec.id, { ...options, fields: { finishedAt: new Date().toISOString(), ...options.fields } });
  if (moved) await Promise.all(heldDatasets(spec).map((datasetId) => datasets.release(datasetId, spec.id)));
  return moved;
}
