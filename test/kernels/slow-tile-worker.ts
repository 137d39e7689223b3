import { isMainThread, workerData } from 'node:worker_threads';
import { serveParts } from '../../src/kernels/wasm-team-protocol.js';
import { tileRecorder, type TileRecorderData } from './tile-recorder.js';

/**
 * A wasm team helper whose every tile takes `tileMicros`, as when another process holds its core.
 * `node --test dist/test/` also loads this file on the main thread, as a test file with no tests:
 * there it has no team to serve.
 */
if (!isMainThread) {
  const { control, ledger, tileMicros } = workerData as TileRecorderData & { control: SharedArrayBuffer };
  serveParts(tileRecorder({ ledger, tileMicros, thread: 1 }), control, 1);
}
