import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileGemmModule, instantiateGemm } from '../../src/kernels/wasm-module.js';
import { OP, SLOT } from '../../src/kernels/wasm-team-protocol.js';
import { WasmTeam } from '../../src/kernels/wasm-team.js';
import { LinearMemory } from '../../src/kernels/linear-memory.js';

const FLOAT_BYTES = 4;

/** Writes a forward product into the team's control slots: out = inp · weightᵀ + bias. */
function setForward(team: WasmTeam, pointers: { out: number; inp: number; weight: number; bias: number }, batch: number, inDim: number, outDim: number): void {
  const { control } = team;
  control[SLOT.op] = OP.forward;
  control.set([pointers.out, pointers.inp, pointers.weight, pointers.bias, batch, inDim, outDim], SLOT.args);
}

describe('WasmTeam', () => {
  it("reports a failed tile to the caller, whichever thread took it, and keeps serving", async () => {
    const module = await compileGemmModule('simd');
    const memory = new LinearMemory();
    const kernels = instantiateGemm(module, memory.memory);
    const team = await WasmTeam.start(kernels, module, memory.memory, 2);
    try {
      // batch 32, inDim 1, outDim 65536: six tiles of output columns, shared by the two threads.
      const [batch, inDim, outDim] = [32, 1, 65536];
      const inp = memory.allocate(batch * inDim).fill(2);
      const weight = memory.allocate(outDim * inDim).fill(3);
      const bias = memory.allocate(outDim).fill(1);
      const scratch = memory.allocate(kernels.scratchLength(batch, inDim));
      const out = memory.allocate(batch * outDim);
      const pointers = { out: out.byteOffset, inp: inp.byteOffset, weight: weight.byteOffset, bias: bias.byteOffset };
      const scratchPointers = [scratch.byteOffset, memory.allocate(scratch.length).byteOffset];
      const flop = 2 * batch * inDim * outDim;

      // Place out so that the last tiles of the last row fall past the end of memory.
      const memoryBytes = memory.memory.buffer.byteLength;
      setForward(team, { ...pointers, out: memoryBytes - ((batch - 1) * outDim + outDim / 2) * FLOAT_BYTES }, batch, inDim, outDim);
      assert.throws(() => team.run(outDim, 4, flop, scratchPointers), /out of bounds/);

      setForward(team, pointers, batch, inDim, outDim);
      team.run(outDim, 4, flop, scratchPointers);
      assert.ok(out.every((value) => value === 7), 'out = 2 · 3 + 1 everywhere');
    } finally {
      team.dispose();
    }
  });

  it('refuses a thread count it cannot start', async () => {
    const module = await compileGemmModule('simd');
    const memory = new LinearMemory();
    const kernels = instantiateGemm(module, memory.memory);
    await assert.rejects(WasmTeam.start(kernels, module, memory.memory, 0), { name: 'RangeError', message: /threads must be a whole number from 1 to 64, got 0/ });
  });
});
