import { parentPort, workerData } from 'node:worker_threads';
import { instantiateGemm } from './gemm-module.js';
import { serveParts, type GemmWorkerData } from './gemm-protocol.js';

/** A helper thread: the same kernels on the same memory, serving its part of every product. */
const { module, memory, control, thread } = workerData as GemmWorkerData;
const kernels = instantiateGemm(module, memory);
parentPort?.postMessage('ready');
serveParts(kernels, control, thread);
