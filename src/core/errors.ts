import type { Diagnostics } from './types.js';

/** A training configuration the core cannot run; `field` names the offending option. */
export class InvalidConfigError extends Error {
  readonly code = 'INVALID_CONFIG';
  constructor(readonly field: string, message: string) {
    super(message);
    this.name = 'InvalidConfigError';
  }
}

/** Loss or weights became NaN, infinite or far above where they started; `advice` tells a person what to change, and `diagnostics` why. */
export class TrainingDivergedError extends Error {
  readonly code = 'TRAINING_DIVERGED';
  constructor(message: string, readonly epoch: number, readonly step: number, readonly advice: string, readonly diagnostics: Diagnostics) {
    super(message);
    this.name = 'TrainingDivergedError';
  }
}

/** Bytes that are not a snapshot this version can read. */
export class SnapshotFormatError extends Error {
  readonly code = 'BAD_SNAPSHOT';
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotFormatError';
  }
}
