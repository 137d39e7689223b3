import { randomBytes } from 'node:crypto';
import { z } from 'zod';

const ID_RANDOM_BYTES = 10;
const ID_PREFIXES = { dataset: 'ds', job: 'job', model: 'mdl', sweep: 'swp' } as const;

type IdKind = keyof typeof ID_PREFIXES;

/** A fresh id such as `ds_4f0c…`: the prefix says what it names, the rest is random hex. */
export function newId(kind: IdKind): string {
  return `${ID_PREFIXES[kind]}_${randomBytes(ID_RANDOM_BYTES).toString('hex')}`;
}

/** Validates an id from a request before it is used in any key or path. */
export function idSchema(kind: IdKind) {
  const pattern = new RegExp(`^${ID_PREFIXES[kind]}_[0-9a-f]{${ID_RANDOM_BYTES * 2}}$`);
  return z.string().regex(pattern, `must be a ${kind} id like ${ID_PREFIXES[kind]}_${'0'.repeat(ID_RANDOM_BYTES * 2)}`);
}

/**
 * A whole number sent as text (a sample index, a page size, a form field) in plain decimal digits:
 * z.coerce.number() would read "" as 0, "0x10" as 16 and "1e3" as 1000.
 */
export function integerTextSchema(min: number, max: number) {
  return z.string()
    .regex(/^(0|[1-9][0-9]{0,14})$/, 'must be a whole number written in decimal digits, such as 0 or 42')
    .transform(Number)
    .pipe(z.int().min(min).max(max));
}

/**
 * C0 and C1 control characters (NUL, line breaks, the ESC of ANSI sequences), DEL, the line and
 * paragraph separators, and the invisible characters that make a name display as something else:
 * bidirectional marks, overrides and isolates, the zero-width space, word joiner and BOM. The
 * zero-width joiner and non-joiner stay: Persian, the Indic scripts and emoji sequences need them.
 */
export const UNSAFE_NAME_CHARACTER = /[\u0000-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;

/** A name or tag people read in lists and logs: trimmed, 1 to `maxLength` long, and shown as it is written. */
export function displayNameSchema(maxLength: number) {
  return z.string().trim().min(1).max(maxLength)
    .refine((name) => !UNSAFE_NAME_CHARACTER.test(name), 'must not hold control characters (NUL, line breaks, ANSI escapes) or bidirectional overrides');
}
