import { basename } from 'node:path';
import { Worker as Thread } from 'node:worker_threads';

/**
 * Starts a thread whose entry posts one message and ends, and resolves with that message. The
 * thread's uncaught error, or an exit without an answer, rejects. `transfer` moves buffers
 * into the thread instead of copying them.
 */
export function runThread<Message>(entry: URL, workerData: unknown, transfer: ArrayBuffer[]): Promise<Message> {
  return new Promise<Message>((resolve, reject) => {
    const thread = new Thread(entry, { workerData, transferList: transfer });
    thread.once('message', resolve);
    thread.once('error', reject);
    thread.once('exit', (code) => reject(new Error(`the thread ${basename(entry.pathname)} exited with code ${code} without an answer`)));
  });
}
