import { parentPort, workerData } from 'node:worker_threads';
import type { TrainingThreadInput, TrainingThreadMessage } from './thread-messages.js';
import { describeFailure, runTraining } from './thread-training.js';

const port = parentPort!;
const post = (message: TrainingThreadMessage, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer);
await runTraining(workerData as TrainingThreadInput, post).catch((error: unknown) => post({ type: 'failed', failure: describeFailure(error) }));
