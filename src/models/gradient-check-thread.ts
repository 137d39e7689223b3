import { parentPort, workerData } from 'node:worker_threads';
import type { GradientCheckThreadInput } from './gradient-check-messages.js';
import { checkGradients } from './gradient-check-run.js';

parentPort!.postMessage(checkGradients(workerData as GradientCheckThreadInput));
