import assert from 'node:assert/strict';
import type { Kernels } from '../../src/core/index.js';

/** Floats on either side of every array, checked untouched: edge tiles read past rows but must not write. */
const GUARD = 16;
const SENTINEL = 1234.5;

/** A view in the kernels' memory holding `values`, between two guards of sentinels. */
export class Guarded {
  readonly view: Float32Array;
  private readonly whole: Float32Array;

  constructor(kernels: Pick<Kernels, 'allocate'>, values: Float32Array) {
    this.whole = kernels.allocate(values.length + 2 * GUARD).fill(SENTINEL);
    this.view = this.whole.subarray(GUARD, GUARD + values.length);
    this.view.set(values);
  }

  assertGuardsIntact(name: string): void {
    const guards = [...this.whole.subarray(0, GUARD), ...this.whole.subarray(this.whole.length - GUARD)];
    assert.ok(guards.every((value) => value === SENTINEL), `a kernel wrote outside ${name}`);
  }
}
