/**
 * Bundles the wall screen (dashboard/) into dist/dashboard/: index.html, app.js, app.css and the
 * Noto Sans SC woff/woff2 subsets (relative URLs, nothing fetched from the internet at run time).
 *
 *   node --import tsx scripts/build-dashboard.ts [outDir]
 */
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pxToRem } from './px-to-rem.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** What the wall's bundle and the ECharts vendor bundle are built for, alike. */
const BROWSER_BUILD = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome100', 'firefox100', 'safari15'],
  minify: true,
  // No source maps in what the gateway serves: they would publish the sources (and any comment) to every visitor.
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
} as const satisfies BuildOptions;

/**
 * The dashboard's own stylesheets are written in design pixels of a 1920×1080 wall; here their px
 * become rem, and the root font size follows the viewport (styles.css), so the wall scales from a
 * duty laptop to a 4K wall (issue #12; scripts/px-to-rem.ts). Packages' CSS (fonts) is left alone.
 */
const designPixelsToRem: Plugin = {
  name: 'design-px-to-rem',
  setup(b) {
    const dashboard = join(root, 'dashboard') + '/';
    b.onLoad({ filter: /\.css$/ }, async (args) => {
      if (!args.path.startsWith(dashboard)) return undefined;
      return { contents: pxToRem(await readFile(args.path, 'utf8')), loader: 'css', resolveDir: dirname(args.path) };
    });
  },
};

export interface BuildResult {
  outDir: string;
  files: number;
  ms: number;
}

// ---------- the ECharts vendor bundle, built once and cached (dashboard/vendor/echarts.ts) ----------

const VENDOR_ECHARTS = join(root, 'dashboard/vendor/echarts.ts');

/**
 * dashboard/vendor/echarts.ts bundled alone (ESM, minified) into node_modules/.cache, keyed by the
 * installed ECharts and zrender versions and the file's own text; the wall's build then takes that one
 * file instead of ECharts' ~170 modules. A stale key only costs one rebuild; a missing cache, one build.
 */
async function echartsVendor(): Promise<string> {
  const version = (pkg: string) => {
    try {
      return (JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      return '?';
    }
  };
  const key = createHash('sha256')
    .update(`${version('echarts')}|${version('zrender')}|${readFileSync(VENDOR_ECHARTS, 'utf8')}`)
    .digest('hex')
    .slice(0, 16);
  const dir = join(root, 'node_modules/.cache/campus-dashboard');
  const file = join(dir, `echarts-${key}.js`);
  if (existsSync(file)) return file;
  await mkdir(dir, { recursive: true });
  // Written beside, then renamed: suites building at once never read a half-written file.
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await build({
    absWorkingDir: root,
    entryPoints: [VENDOR_ECHARTS],
    outfile: tmp,
    ...BROWSER_BUILD,
  });
  await rename(tmp, file);
  return file;
}

/** Resolves the wall's import of vendor/echarts.js to the cached bundle. */
const echartsVendorPlugin: Plugin = {
  name: 'echarts-vendor',
  setup(b) {
    b.onResolve({ filter: /\/vendor\/echarts\.js$/ }, async (args) => {
      if (resolve(args.resolveDir, args.path.replace(/\.js$/, '.ts')) !== VENDOR_ECHARTS) return undefined;
      return { path: await echartsVendor() };
    });
  },
};

/** `readableNames`: the bench's CPU profile of the page (`--profile`) names functions as the sources do. */
export async function buildDashboard(outDir = 'dist/dashboard', opts: { readableNames?: boolean } = {}): Promise<BuildResult> {
  const started = Date.now();
  const out = resolve(root, outDir);
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const result = await build({
    absWorkingDir: root,
    // fonts.css: the font alone, for the printable reports (gateway/reports/printable.ts).
    entryPoints: { app: join(root, 'dashboard/main.ts'), fonts: join(root, 'dashboard/fonts.css') },
    outdir: out,
    ...BROWSER_BUILD,
    ...(opts.readableNames ? { minifyIdentifiers: false } : {}),
    // Fonts keep their names (fontsource already hashes nothing, names are unique per subset).
    assetNames: 'fonts/[name]',
    loader: { '.woff2': 'file', '.woff': 'file' },
    metafile: true,
    plugins: [designPixelsToRem, echartsVendorPlugin],
  });
  // A warning is a defect the screen would show (a stray merge marker in styles.css drops the rule after it).
  if (result.warnings.length > 0) throw new Error(`the dashboard build has ${result.warnings.length} warning(s): ${result.warnings.map((w) => `${w.location?.file ?? ''}:${w.location?.line ?? ''} ${w.text}`).join('; ')}`);
  await copyFile(join(root, 'dashboard/index.html'), join(out, 'index.html'));
  return { outDir: out, files: Object.keys(result.metafile.outputs).length + 1, ms: Date.now() - started };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const r = await buildDashboard(process.argv[2]);
  console.log(`dashboard: ${r.files} files in ${r.outDir} (${r.ms} ms)`);
}
