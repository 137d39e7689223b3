/**
 * The part of the WebAssembly JavaScript API the wasm kernels use. TypeScript declares
 * WebAssembly only in its DOM libraries, and this project compiles for Node without them.
 */
declare namespace WebAssembly {
  interface MemoryDescriptor {
    /** Pages of 64 KiB. */
    initial: number;
    maximum?: number;
    shared?: boolean;
  }

  class Memory {
    constructor(descriptor: MemoryDescriptor);
    /** A shared memory's buffer is a SharedArrayBuffer; after grow() it is a new, longer one. */
    readonly buffer: ArrayBuffer | SharedArrayBuffer;
    /** Grows by `delta` pages and returns the previous size in pages. */
    grow(delta: number): number;
  }

  class Module {
    constructor(bytes: ArrayBufferView | ArrayBuffer);
  }

  type Imports = Record<string, Record<string, Memory>>;

  class Instance {
    constructor(module: Module, imports?: Imports);
    readonly exports: Record<string, unknown>;
  }

  function validate(bytes: ArrayBufferView | ArrayBuffer): boolean;
  function compile(bytes: ArrayBufferView | ArrayBuffer): Promise<Module>;
}
