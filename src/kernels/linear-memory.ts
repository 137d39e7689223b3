import type { FloatArray } from '../core/types.js';
import { MAXIMUM_MEMORY_PAGES } from './wasm-module.js';

const PAGE_BYTES = 65536;
/** Buffers start on a cache line. */
const ALIGN_BYTES = 64;
/** Room after every buffer for the kernels' edge tiles, which read up to 7 floats past the end of a row. */
const PADDING_BYTES = 64;
/** No buffer starts at address 0. */
const HEAP_START_BYTES = 64;
const INITIAL_PAGES = 16;

interface FreeBlock {
  offset: number;
  bytes: number;
}

/**
 * A shared WebAssembly memory handed out as Float32Array views. The views stay valid
 * when the memory grows (a shared memory never moves), and every thread that
 * instantiates the kernels on this memory sees the same floats.
 *
 * Blocks are taken first-fit from the released ones, else from the top, and released
 * neighbours merge. Only the threads' scratch is ever released, when a larger product needs
 * more: a network's buffers live as long as its kernels, which belong to one training job or
 * one loaded model, and the whole memory goes when they are disposed and dropped.
 */
export class LinearMemory {
  readonly memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAXIMUM_MEMORY_PAGES, shared: true });
  /**
   * The buffer object views are made from. `memory.buffer` may hand out a new object for
   * the same bytes at any time (V8 does when a module is instantiated on the memory), so
   * views are made from this one, replaced only when the memory grows.
   */
  private buffer = this.memory.buffer;
  /** Every buffer object views were made from, to recognise them. */
  private readonly buffers = new WeakSet<ArrayBufferLike>([this.buffer]);
  /** Byte offset of each live buffer → the bytes its block takes. */
  private readonly live = new Map<number, number>();
  /** Released blocks, sorted by offset. */
  private readonly free: FreeBlock[] = [];
  private top = HEAP_START_BYTES;
  /** Bytes from here up have never been handed out, so they are still zero. */
  private untouched = HEAP_START_BYTES;

  /** A zeroed view of `length` floats. */
  allocate(length: number): Float32Array {
    if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`Cannot allocate ${length} floats: the length must be a whole number ≥ 0`);
    const bytes = Math.ceil((length * Float32Array.BYTES_PER_ELEMENT + PADDING_BYTES) / ALIGN_BYTES) * ALIGN_BYTES;
    const offset = this.takeFree(bytes) ?? this.takeTop(bytes);
    this.live.set(offset, bytes);
    const view = new Float32Array(this.buffer, offset, length);
    if (offset < this.untouched) view.fill(0);
    this.untouched = Math.max(this.untouched, offset + bytes);
    return view;
  }

  /** Gives back a view returned by allocate(); views into it must not be used afterwards. */
  release(view: Float32Array): void {
    const bytes = this.live.get(view.byteOffset);
    if (bytes === undefined || !this.owns(view)) throw new Error('Only a buffer returned by allocate() can be released, once');
    this.live.delete(view.byteOffset);
    let block: FreeBlock = { offset: view.byteOffset, bytes };
    let at = this.free.findIndex((candidate) => candidate.offset > block.offset);
    if (at === -1) at = this.free.length;
    const after = this.free[at];
    if (after && block.offset + block.bytes === after.offset) {
      block = { offset: block.offset, bytes: block.bytes + after.bytes };
      this.free.splice(at, 1);
    }
    const before = this.free[at - 1];
    if (before && before.offset + before.bytes === block.offset) {
      block = { offset: before.offset, bytes: before.bytes + block.bytes };
      this.free.splice(at - 1, 1);
      at -= 1;
    }
    if (block.offset + block.bytes === this.top) this.top = block.offset;
    else this.free.splice(at, 0, block);
  }

  /** Whether `array` is a view into this memory, so the kernels can address it. */
  owns(array: FloatArray): array is Float32Array {
    return array instanceof Float32Array && this.buffers.has(array.buffer);
  }

  /** Bytes from address 0 to the end of the highest live buffer. */
  get usedBytes(): number {
    return this.top;
  }

  private takeFree(bytes: number): number | null {
    const at = this.free.findIndex((block) => block.bytes >= bytes);
    if (at === -1) return null;
    const block = this.free[at];
    if (block.bytes === bytes) this.free.splice(at, 1);
    else this.free[at] = { offset: block.offset + bytes, bytes: block.bytes - bytes };
    return block.offset;
  }

  private takeTop(bytes: number): number {
    const offset = this.top;
    const end = offset + bytes;
    const haveBytes = this.buffer.byteLength;
    if (end > haveBytes) {
      const pages = Math.ceil((end - haveBytes) / PAGE_BYTES);
      if (haveBytes / PAGE_BYTES + pages > MAXIMUM_MEMORY_PAGES) {
        throw new RangeError(`Cannot allocate ${bytes} bytes: the kernels' memory would exceed its ${MAXIMUM_MEMORY_PAGES * PAGE_BYTES} bytes`);
      }
      this.memory.grow(pages);
      this.buffer = this.memory.buffer;
      this.buffers.add(this.buffer);
    }
    this.top = end;
    return offset;
  }
}
