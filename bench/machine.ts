import { cpus, loadavg, totalmem } from 'node:os';

/** The machine a bench ran on, with its load at that moment: figures mean little without it. */
export function machineLine(): string {
  const cpu = cpus();
  return `machine: ${cpu[0]?.model ?? 'unknown cpu'}, ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load ${loadavg().map((load) => load.toFixed(1)).join(' ')}`;
}
