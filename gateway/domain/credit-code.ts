/**
 * 统一社会信用代码 (unified social credit code), GB 32100-2015: 18 characters of the 31-character
 * set `0123456789ABCDEFGHJKLMNPQRTUWXY` (I, O, Z, S and V are left out: they read like 1, 0, 2, 5
 * and U). Position 1 is the registration authority (1 机构编制, 5 民政, 9 工商, …), 2 the kind of
 * organisation (a public school registered by 机构编制 is `12`, 事业单位), 3–8 the administrative
 * division (GB/T 2260), 9–17 the organisation code (GB 11714), and 18 the check character:
 *
 *   C18 = 31 − (Σ_{i=1..17} value(Ci) × Wi mod 31), a result of 31 written as 0,
 *   Wi = 3^(i−1) mod 31 = 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28,
 *
 * where value() is the character's index in the set above (0–9 → 0–9, A → 10 … Y → 30).
 * The organisation code's own check (GB 11714, position 17) is not verified here: codes issued
 * before 2015 carry whatever their old certificate said, and GB 32100's check covers position 17.
 */
export const CREDIT_CODE_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
const SHAPE = /^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$/;

/** The check character for the first 17 characters, or undefined when one is outside the set. */
export function creditCodeCheckChar(first17: string): string | undefined {
  if (first17.length !== 17) return undefined;
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const v = CREDIT_CODE_CHARS.indexOf(first17[i]);
    if (v < 0) return undefined;
    sum += v * WEIGHTS[i];
  }
  return CREDIT_CODE_CHARS[(31 - (sum % 31)) % 31];
}

/** Why a code is not a valid 统一社会信用代码, or undefined when it is. */
export function creditCodeProblem(code: string): string | undefined {
  if (code.length !== 18) return `统一社会信用代码 "${code}" has ${code.length} characters, not 18`;
  const bad = [...code].findIndex((c) => !CREDIT_CODE_CHARS.includes(c));
  if (bad >= 0) return `统一社会信用代码 "${code}" has "${code[bad]}" at position ${bad + 1} (allowed: digits and capital letters except I, O, Z, S, V)`;
  if (!SHAPE.test(code)) return `统一社会信用代码 "${code}": characters 3–8 must be the administrative division code (digits)`;
  const want = creditCodeCheckChar(code.slice(0, 17))!;
  if (code[17] !== want) return `统一社会信用代码 "${code}" fails its check character (GB 32100-2015): the 18th character should be "${want}", not "${code[17]}"`;
  return undefined;
}

export const isCreditCode = (code: string): boolean => creditCodeProblem(code) === undefined;
