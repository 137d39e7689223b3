import { formatNumber } from './diagnostics.js';

/**
 * The network computes in float32: a number beyond its range becomes Infinity as it is stored,
 * and a weight, input or learning rate of Infinity makes every later value NaN.
 */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** Whether `value` is stored as a finite float32 (values a hair above FLOAT32_MAX round down to it). */
export const isFiniteFloat32 = (value: number): boolean => Number.isFinite(Math.fround(value));

/** The end of a message refusing a number isFiniteFloat32 refuses. */
export const BEYOND_FLOAT32 = `beyond ±${formatNumber(FLOAT32_MAX)}, the range of the float32 numbers the network computes with`;
