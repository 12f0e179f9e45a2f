// What text may enter Nexus: no control characters (C0, DEL, C1; tab and line breaks only in free text), no
// unpaired surrogates, no bidirectional overrides; strings compared for equality must also be NFKC-normalised.
import { BadUserInputError } from './errors.js';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// eslint-disable-next-line no-control-regex
const CONTROL_BUT_LINES = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
// Embedding, override and isolate controls: they make a string read differently from what it holds.
const BIDI = /[\u202a-\u202e\u2066-\u2069]/;
// Invisible format characters (zero-width space and joiners, soft hyphen, BOM, …): two keys that look alike.
const FORMAT = /\p{Cf}/u;

export interface TextRules {
  /** Free text (a record's text) may hold tab, line feed and carriage return. */
  readonly lines?: boolean;
  /** Must already be in Unicode normal form NFC (an audit trail where "é" is one way only). */
  readonly nfc?: boolean;
}

/** Why this string may not be stored, or null when it may. */
export function textProblem(value: string, rules: TextRules = {}): string | null {
  if (!value.isWellFormed()) return 'must not contain an unpaired surrogate (invalid UTF-16)';
  if ((rules.lines ? CONTROL_BUT_LINES : CONTROL).test(value)) {
    return rules.lines ? 'must not contain control characters other than tab and line breaks' : 'must not contain control characters';
  }
  if (BIDI.test(value)) return 'must not contain bidirectional control characters';
  if (rules.nfc && value.normalize('NFC') !== value) return 'must be in Unicode normal form NFC';
  return null;
}

/** Why this string cannot serve as something compared by equality (an email, an idempotency key), or null. */
export function identifierProblem(value: string): string | null {
  const problem = textProblem(value);
  if (problem) return problem;
  if (FORMAT.test(value)) return 'must not contain invisible format characters';
  // Compatibility forms ("ﬁ", fullwidth "Ａ", a decomposed "é") look like other strings: only the normal form is taken.
  if (value.normalize('NFKC') !== value) return 'must be in Unicode normal form NFKC';
  return null;
}

/** Throws BAD_USER_INPUT naming the field unless the text may be stored. */
export function assertCleanText(value: string, field: string, rules: TextRules = {}): string {
  const problem = textProblem(value, rules);
  if (problem) throw new BadUserInputError(`${field} ${problem}`, field);
  return value;
}

/** Throws BAD_USER_INPUT naming the field unless the string is a clean identifier. */
export function assertCleanIdentifier(value: string, field: string): string {
  const problem = identifierProblem(value);
  if (problem) throw new BadUserInputError(`${field} ${problem}`, field);
  return value;
}
