/**
 * The API's types, taken from its own zod schemas so the UI cannot drift from them.
 * Type-only imports: none of the service's code reaches the browser bundle.
 */
import type { z } from 'zod';
import type { datasetListSchema } from '../src/data/dataset-schema.js';
import type { Job, jobLabelsRequestSchema, jobListSchema, jobRequestSchema, resumeRequestSchema } from '../src/queue/job-schema.js';
import type { JobEvent } from '../src/queue/job-store.js';
import type { modelListSchema, Prediction } from '../src/models/model-schema.js';
import type { sweepListSchema } from '../src/sweeps/sweep-schema.js';

export type { DatasetRecord as Dataset, Sample } from '../src/data/dataset-schema.js';
export type { EpochRecord, Job, JobState, JobSummary, StepRecord } from '../src/queue/job-schema.js';
export type { Sweep, Trial as SweepTrial } from '../src/sweeps/sweep-schema.js';
export type { EvaluateRequest, EvaluationResult, ModelRecord as Model, PredictRequest } from '../src/models/model-schema.js';
import type { registeredModelSchema } from '../src/models/model-schema.js';
export type RegisteredModel = z.infer<typeof registeredModelSchema>;

export type DatasetList = z.infer<typeof datasetListSchema>;
export type JobList = z.infer<typeof jobListSchema>;
export type ModelList = z.infer<typeof modelListSchema>;
export type SweepList = z.infer<typeof sweepListSchema>;
/** The body of POST /jobs as a client writes it (before defaults and transforms). */
export type JobRequestBody = z.input<ReturnType<typeof jobRequestSchema>>;
/** The body of PATCH /jobs/:id: a run's name and tags. */
export type JobLabelsBody = z.input<typeof jobLabelsRequestSchema>;
export type ResumeRequestBody = NonNullable<z.input<ReturnType<typeof resumeRequestSchema>>>;
/** The answer of POST /predict for one sample. */
export type SinglePrediction = Prediction & { modelId: string };

/** Named events of GET /jobs/:id/events: the job as it is now, then its changes. */
export interface JobStreamEvents {
  job: Job;
  state: Extract<JobEvent, { type: 'state' }>;
  step: Extract<JobEvent, { type: 'step' }>;
  epoch: Extract<JobEvent, { type: 'epoch' }>;
}
