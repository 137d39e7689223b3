/**
 * `npm run bench:scenarios`: every scenario of test/core/scenarios.ts on each of its seeds, run
 * the way the worker runs a job, with the warning the diagnosis put first against the one
 * expected. Prints figures; it is not a test. `node dist/bench/scenarios.js --verbose` also
 * prints every warning and what each failing run exhibited; other arguments pick scenarios
 * whose name contains them.
 */
import { cpus, totalmem } from 'node:os';
import { chooseKernels } from '../src/kernels/choose-kernels.js';
import { SCENARIOS, primaryCode, runScenario } from '../test/core/scenarios.js';

const args = process.argv.slice(2);
const verbose = args.includes('--verbose');
const filters = args.filter((arg) => arg !== '--verbose');
const picked = SCENARIOS.filter((scenario) => filters.length === 0 || filters.some((filter) => scenario.name.includes(filter)));

const cpu = cpus();
console.log(`machine: ${cpu[0]?.model ?? 'unknown cpu'}, ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
const chosen = await chooseKernels({ threads: 2 });
console.log(`kernels: ${chosen.description}`);

let named = 0;
let failures = 0;
let falseAlarms = 0;
let healthy = 0;
let totalSeconds = 0;
console.log('\nscenario | seed | primary (severity) | expected | result | time');
try {
  for (const scenario of picked) {
    for (const seed of scenario.seeds) {
      const run = runScenario(scenario, seed, chosen.kernels);
      totalSeconds += run.seconds;
      const code = primaryCode(run);
      const pass = scenario.expected === 'none' ? run.warnings.length === 0 : code === scenario.expected;
      if (scenario.expected === 'none') {
        healthy++;
        if (run.warnings.length > 0) falseAlarms++;
      } else {
        failures++;
        if (pass) named++;
      }
      const severity = run.warnings[0] ? ` (${run.warnings[0].severity})` : '';
      console.log(`${scenario.name} | ${seed} | ${code}${severity}${run.diverged ? ', diverged' : ''} | ${scenario.expected} | ${pass ? 'pass' : 'FAIL'} | ${run.seconds.toFixed(2)} s`);
      if (verbose) {
        const last = run.epochs.at(-1);
        if (last) console.log(`    epoch ${last.epoch}: train ${last.trainLoss.toFixed(4)} / ${(last.trainAccuracy * 100).toFixed(1)}%` +
          (last.valLoss !== undefined ? `, validation ${last.valLoss.toFixed(4)} / ${(last.valAccuracy! * 100).toFixed(1)}%` : '') + `, rate ${last.learningRate}`);
        if (scenario.exhibits) console.log(`    exhibits: ${scenario.exhibits(run) ?? 'NOT the failure it is named after'}`);
        for (const warning of run.warnings) console.log(`    ${warning.code} [${warning.field ?? '-'} → ${JSON.stringify(warning.suggestion)}]: ${warning.message} | ${warning.advice}`);
      }
    }
  }
} finally {
  chosen.dispose();
}
console.log(`\nnamed ${named} of ${failures} failures, ${falseAlarms} false alarms on ${healthy} healthy runs, ${totalSeconds.toFixed(1)} s of training`);
