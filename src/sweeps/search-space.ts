import { Rng } from '../core/index.js';
import type { SearchSpace, SpaceValue } from './sweep-schema.js';

/** Sampled numbers keep this many significant digits, so a leaderboard reads 0.01234, not 0.012340981. */
const SIGNIFICANT_DIGITS = 4;

export type TrialParams = Record<string, SpaceValue>;

/** How many trials a grid has: the product of its choices. */
export function gridSize(space: SearchSpace): number {
  return Object.values(space).reduce((size, dimension) => size * ('choices' in dimension ? dimension.choices.length : Infinity), 1);
}

/** Every combination of the choices, the last field varying fastest; the first `trials` of them. */
export function gridTrials(space: SearchSpace, trials: number): TrialParams[] {
  const fields = Object.entries(space);
  const combinations: TrialParams[] = [];
  for (let index = 0; combinations.length < trials; index++) {
    const params: TrialParams = {};
    let rest = index;
    for (let f = fields.length - 1; f >= 0; f--) {
      const [field, dimension] = fields[f];
      if (!('choices' in dimension)) throw new RangeError(`${field} is a range; a grid takes choices only`);
      params[field] = dimension.choices[rest % dimension.choices.length];
      rest = Math.floor(rest / dimension.choices.length);
    }
    combinations.push(Object.fromEntries(fields.map(([field]) => [field, params[field]])));
  }
  return combinations;
}

/** `trials` independent draws from a seeded generator: uniform over choices, uniform or log-uniform over a range. */
export function randomTrials(space: SearchSpace, trials: number, seed: number, integerFields: ReadonlySet<string>): TrialParams[] {
  const rng = new Rng(seed);
  return Array.from({ length: trials }, () => Object.fromEntries(Object.entries(space).map(([field, dimension]) => {
    if ('choices' in dimension) return [field, dimension.choices[rng.nextInt(dimension.choices.length)]];
    const { min, max, log } = dimension;
    const u = rng.nextFloat();
    const value = log ? Math.exp(Math.log(min) + u * (Math.log(max) - Math.log(min))) : min + u * (max - min);
    return [field, integerFields.has(field) ? Math.round(value) : Number(value.toPrecision(SIGNIFICANT_DIGITS))];
  })));
}
