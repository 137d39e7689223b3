import { parentPort, workerData } from 'node:worker_threads';
import type { EvaluationThreadInput } from './evaluation-messages.js';
import { evaluateSnapshot } from './evaluation-run.js';

parentPort!.postMessage(evaluateSnapshot(workerData as EvaluationThreadInput));
