import type { Diagnostics } from '../core/index.js';

/**
 * Every way a job can fail, in one catalogue: the advice a person gets when the failure brings
 * none of its own, and whether running it again from its last checkpoint could help.
 */
export const JOB_ERRORS = {
  TRAINING_DIVERGED: { retryable: false, advice: 'Follow the diagnosis: lower the learning rate or change what it names, and submit a new job.' },
  INVALID_CONFIG: { retryable: false, advice: 'Change the named field and submit a new job.' },
  BAD_DATASET: { retryable: false, advice: 'Upload the dataset again and submit a new job.' },
  BAD_CHECKPOINT: { retryable: false, advice: 'Submit the job again to train from the start.' },
  SOURCE_MODEL_GONE: { retryable: false, advice: 'Warm-start from a model that still exists, or submit the job without fromModelId.' },
  TRAINING_CRASHED: { retryable: true, advice: 'The job is retried from its last checkpoint; if it keeps failing, report it with the job id.' },
  WORKER_LOST: { retryable: false, advice: "Resume it with POST /jobs/:id/resume, and check the workers' memory and logs." },
  QUEUE_UNAVAILABLE: { retryable: false, advice: 'Submit it again once Redis answers.' },
} as const satisfies Record<string, { retryable: boolean; advice: string }>;

export type JobErrorCode = keyof typeof JOB_ERRORS;
export const JOB_ERROR_CODES = Object.keys(JOB_ERRORS) as [JobErrorCode, ...JobErrorCode[]];

/** Why a job failed, in words for a person, and whether a retry could help. */
export interface JobFailure {
  code: JobErrorCode;
  message: string;
  advice: string;
  retryable: boolean;
  /** What the run measured up to the failure, with the ranked diagnosis, when training itself went wrong. */
  diagnostics?: Diagnostics;
}

/** The one way to make a failure record: the catalogue gives the advice unless the failure knows better. */
export function jobFailure(code: JobErrorCode, message: string, extra: { advice?: string; diagnostics?: Diagnostics } = {}): JobFailure {
  const entry = JOB_ERRORS[code];
  return {
    code,
    message,
    advice: extra.advice ?? entry.advice,
    retryable: entry.retryable,
    ...(extra.diagnostics && { diagnostics: extra.diagnostics }),
  };
}
