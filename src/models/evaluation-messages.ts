/** What an evaluation thread is given; both byte arrays are transferred. */
export interface EvaluationThreadInput {
  /** A model snapshot. */
  model: Uint8Array;
  /** A dataset in the compact on-disk format. */
  dataset: Uint8Array;
  /** Evaluate on the share of `dataset` a job held out for validation, instead of all of it. */
  heldOut: { fraction: number; trainingSeed: number } | null;
}
