/**
 * The wall screen's stylesheets are written in design pixels of a 1920×1080 wall; at build time
 * every `px` length in a declaration becomes `rem` (÷ 16), and the root font size follows the
 * viewport (styles.css: `html { font-size: … }`), so one layout reads the same on a duty laptop, a
 * 1080p wall and a 4K (or 2×2 1080p) wall (issue #12). The idea of postcss-pxtorem, without its
 * dependencies, and its conventions:
 *
 * - lengths of at most `minPx` (default 1px: hairlines) stay in px, so they never blur below a pixel;
 * - `PX` or `Px` (CSS units are case-insensitive) is never converted: the escape for lengths that
 *   must not scale, e.g. SVG text sized in the map's own user units, or the root size itself;
 * - at-rule preludes (`@media (min-width: 1600px)`) stay in px: a media query's `rem` would be
 *   the browser's initial 16px, not ours;
 * - comments, strings and `url(…)` are left untouched, and selectors too.
 */

export interface PxToRemOptions {
  /** px per rem in the design (default 16) */
  rootPx?: number;
  /** lengths whose absolute value is at most this stay in px (default 1) */
  minPx?: number;
  /** decimals kept in rem (default 5) */
  precision?: number;
}

// One token at a time: a comment, a string, url(…), a block or statement boundary, or a px length.
const TOKEN = /\/\*[\s\S]*?\*\/|"(?:\\[\s\S]|[^"\\])*"|'(?:\\[\s\S]|[^'\\])*'|url\(\s*(?:"(?:\\[\s\S]|[^"\\])*"|'(?:\\[\s\S]|[^'\\])*'|[^)]*)\s*\)|[{};]|(?<![\w.#-])([+-]?(?:\d+(?:\.\d+)?|\.\d+)(?:e[+-]?\d+)?)px(?![\w-])/gi;

/** Converts the px lengths of `css`'s declarations to rem (see the module comment). */
export function pxToRem(css: string, opts: PxToRemOptions = {}): string {
  const rootPx = opts.rootPx ?? 16;
  const minPx = opts.minPx ?? 1;
  const precision = opts.precision ?? 5;
  let out = '';
  // The text since the last `{`, `}` or `;`, twice: as written, and with its px converted. Which one
  // is kept is known only at its end: `{` closes a prelude (kept as written), `;`/`}` a declaration.
  let raw = '';
  let converted = '';
  let last = 0;
  const flush = (asWritten: boolean): void => {
    out += asWritten || raw.trimStart().startsWith('@') ? raw : converted;
    raw = converted = '';
  };
  for (const m of css.matchAll(TOKEN)) {
    const between = css.slice(last, m.index);
    raw += between;
    converted += between;
    last = m.index + m[0].length;
    const tok = m[0];
    if (tok === '{' || tok === '}' || tok === ';') {
      flush(tok === '{');
      out += tok;
      continue;
    }
    raw += tok;
    if (m[1] === undefined || !tok.endsWith('px')) {
      converted += tok; // comment, string, url(…), or PX/Px: as written
      continue;
    }
    const px = Number(m[1]);
    if (Math.abs(px) <= minPx) converted += tok;
    else converted += `${Number((px / rootPx).toFixed(precision))}rem`;
  }
  raw += css.slice(last);
  converted += css.slice(last);
  flush(false);
  return out;
}
