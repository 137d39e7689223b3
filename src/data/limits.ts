/**
 * Limits on the shape of data, checked before anything is allocated for it: uploads (IDX, CSV,
 * JSON), JSON request bodies and predictions share them. Limits on bytes, memory and time are
 * deployment settings and live in src/config.ts.
 */

/** Values in one sample: 65,536 is a 256x256 image, far above MNIST's 784. */
export const MAX_SAMPLE_VALUES = 65_536;

/** Samples in one dataset: EMNIST's 814,255 fits ten times over. */
export const MAX_SAMPLES = 10_000_000;

/** One CSV line: MAX_SAMPLE_VALUES values of up to 15 characters and a comma each. */
export const MAX_CSV_LINE_BYTES = MAX_SAMPLE_VALUES * 16;

/** A JSON dataset's text: JSON is for small data, and V8 strings stop near 512 MiB. */
export const MAX_JSON_DATASET_BYTES = 64 * 1024 * 1024;

/** Arrays and objects inside one another in a JSON body or dataset; our documents need 3. */
export const MAX_JSON_DEPTH = 16;
