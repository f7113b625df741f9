/**
 * Bundles the wall screen (dashboard/) into dist/dashboard/: index.html, app.js, app.css and the
 * Noto Sans SC woff/woff2 subsets (relative URLs, nothing fetched from the internet at run time).
 *
 *   node --import tsx scripts/build-dashboard.ts [outDir]
 */
import { build, type Plugin } from 'esbuild';
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pxToRem } from './px-to-rem.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

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

export async function buildDashboard(outDir = 'dist/dashboard'): Promise<BuildResult> {
  const started = Date.now();
  const out = resolve(root, outDir);
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const result = await build({
    absWorkingDir: root,
    // fonts.css: the font alone, for the printable reports (gateway/reports/printable.ts).
    entryPoints: { app: join(root, 'dashboard/main.ts'), fonts: join(root, 'dashboard/fonts.css') },
    outdir: out,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome100', 'firefox100', 'safari15'],
    minify: true,
    // No source maps in what the gateway serves: they would publish the sources (and any comment) to every visitor.
    sourcemap: false,
    legalComments: 'none',
    // Fonts keep their names (fontsource already hashes nothing, names are unique per subset).
    assetNames: 'fonts/[name]',
    loader: { '.woff2': 'file', '.woff': 'file' },
    metafile: true,
    plugins: [designPixelsToRem],
    logLevel: 'warning',
  });
  await copyFile(join(root, 'dashboard/index.html'), join(out, 'index.html'));
  return { outDir: out, files: Object.keys(result.metafile.outputs).length + 1, ms: Date.now() - started };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const r = await buildDashboard(process.argv[2]);
  console.log(`dashboard: ${r.files} files in ${r.outDir} (${r.ms} ms)`);
}
