import { parentPort, workerData } from 'node:worker_threads';
import { instantiateGemm } from './wasm-module.js';
import { serveParts, type WasmTeamWorkerData } from './wasm-team-protocol.js';

/** A helper thread: the same kernels on the same memory, taking tiles of every shared job. */
const { module, memory, control, thread } = workerData as WasmTeamWorkerData;
const kernels = instantiateGemm(module, memory);
parentPort?.postMessage('ready');
serveParts(kernels, control, thread);
