/**
 * The diagnosis engine against known failures and healthy runs (test/core/scenarios.ts), each on
 * three seeds, run the way the worker runs a job on the wasm kernels: the warning it puts first
 * names the failure, a healthy run ends with no warning at all, and the advice can be acted on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunConfig, TrainingWarning } from '../../src/core/index.js';
import { chooseKernels, type ChosenKernels } from '../../src/kernels/choose-kernels.js';
import { SCENARIOS, primaryCode, runScenario, type Scenario } from './scenarios.js';

/** What a suggestion is compared with: a bare init kind stands for that init with its defaults. */
function normalised(field: string, value: unknown): unknown {
  if (field === 'init' && typeof value === 'string') return { kind: value };
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && !(field === 'init' && v === 0)));
  }
  return value;
}

function assertActionable(warnings: TrainingWarning[], config: RunConfig): void {
  const fields = new Set<string>();
  for (const warning of warnings) {
    const words = `${warning.code}: ${warning.message}`;
    assert.ok(warning.message.length > 20 && /^[A-Za-z0-9]/.test(warning.message), `a sentence, not a code: ${words}`);
    assert.doesNotMatch(warning.message, /undefined|NaN|\[object|[{}]/, `plain words: ${words}`);
    assert.ok(warning.advice.length > 10, `${warning.code} advises something: "${warning.advice}"`);
    if (!warning.field) continue;
    assert.ok(!fields.has(warning.field), `two warnings change ${warning.field}`);
    fields.add(warning.field);
    if (warning.suggestion === undefined) continue;
    const current = (config as unknown as Record<string, unknown>)[warning.field];
    assert.notDeepEqual(
      normalised(warning.field, warning.suggestion), normalised(warning.field, current),
      `${warning.code} suggests ${warning.field} = ${JSON.stringify(warning.suggestion)}, which the job already uses`,
    );
  }
}

describe('diagnosis of known failures and healthy runs (wasm kernels, 2 threads)', () => {
  let chosen: ChosenKernels;
  before(async () => { chosen = await chooseKernels({ threads: 2 }); });
  after(() => chosen.dispose());

  const check = (scenario: Scenario, seed: number): void => {
    const run = runScenario(scenario, seed, chosen.kernels);
    const shown = run.warnings.map((warning) => `${warning.code}: ${warning.message}`).join('\n') || 'no warning';
    assert.ok(scenario.exhibits(run) !== null, `the run is not what "${scenario.name}" is named after; it got\n${shown}`);
    if (scenario.expected === 'none') assert.deepEqual(run.warnings, [], `a healthy run got\n${shown}`);
    else assert.equal(primaryCode(run), scenario.expected, shown);
    assertActionable(run.warnings, run.config);
  };

  for (const scenario of SCENARIOS) {
    for (const seed of scenario.seeds) {
      const expected = scenario.expected === 'none' ? 'no warning' : scenario.expected;
      it(`${scenario.name}, seed ${seed}: ${expected}`, () => check(scenario, seed));
    }
  }
});
