import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LinearMemory } from '../../src/kernels/linear-memory.js';

const MIB_FLOATS = 262_144;

describe('LinearMemory', () => {
  it('hands out zeroed, disjoint views of one shared memory', () => {
    const memory = new LinearMemory();
    const a = memory.allocate(10).fill(1);
    const b = memory.allocate(10);
    assert.ok(a.buffer instanceof SharedArrayBuffer);
    assert.deepEqual([...b], new Array(10).fill(0));
    assert.ok(b.byteOffset >= a.byteOffset + a.byteLength, 'b overlaps a');
    assert.equal(a.byteOffset % 64, 0, 'views start on a cache line');
  });

  it('keeps earlier views valid when it grows', () => {
    const memory = new LinearMemory();
    const early = memory.allocate(4);
    early.set([1, 2, 3, 4]);
    const bytesBefore = memory.memory.buffer.byteLength;
    const late = memory.allocate(32 * MIB_FLOATS);
    assert.ok(memory.memory.buffer.byteLength > bytesBefore, 'the memory grew');
    assert.deepEqual([...early], [1, 2, 3, 4]);
    early[0] = 5;
    assert.equal(new Float32Array(memory.memory.buffer, early.byteOffset, 1)[0], 5, 'the early view still aliases the memory');
    assert.ok(memory.owns(early) && memory.owns(late) && memory.owns(late.subarray(7)));
  });

  it('reuses released blocks, zeroed, and merges neighbours', () => {
    const memory = new LinearMemory();
    const a = memory.allocate(1000).fill(7);
    const b = memory.allocate(1000).fill(7);
    const c = memory.allocate(10);
    const used = memory.usedBytes;
    memory.release(a);
    memory.release(b);
    const merged = memory.allocate(2000);
    assert.equal(merged.byteOffset, a.byteOffset, 'a and b merged into one block');
    assert.ok(merged.every((value) => value === 0), 'a reused block is zeroed');
    assert.equal(memory.usedBytes, used);
    memory.release(c);
    memory.release(merged);
    assert.equal(memory.usedBytes, a.byteOffset, 'releasing the top gives the bytes back');
  });

  it('tells its own views from other arrays, and refuses to release those', () => {
    const memory = new LinearMemory();
    const other = new LinearMemory().allocate(4);
    assert.equal(memory.owns(other), false);
    assert.equal(memory.owns(new Float32Array(4)), false);
    assert.equal(memory.owns(new Float64Array(4)), false);
    assert.throws(() => memory.release(other), /Only a buffer returned by allocate\(\) can be released, once/);
    const view = memory.allocate(4);
    memory.release(view);
    assert.throws(() => memory.release(view), /once/);
  });

  it('refuses a length that is not a whole number', () => {
    assert.throws(() => new LinearMemory().allocate(-1), RangeError);
    assert.throws(() => new LinearMemory().allocate(2.5), RangeError);
  });
});
