#!/usr/bin/env node
// Builds build/plotly/plotly.min.js: a minified Plotly.js of only the trace types heymax
// draws (scripts/plotly/index.js), bundled with esbuild from the npm `plotly.js` package.
// Like plotly.min.js it is one classic script that sets `window.Plotly` (and exports it
// under CommonJS). The output is the same bytes on every run from the same node_modules.
//
//   node scripts/plotly/build.mjs [--out FILE] [--analyze]
import { build, analyzeMetafile } from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const args = process.argv.slice(2);
const outIndex = args.indexOf('--out');
const out = outIndex >= 0 ? args[outIndex + 1] : join(root, 'build', 'plotly', 'plotly.min.js');
const analyze = args.includes('--analyze');

const require = createRequire(import.meta.url);
const { version } = require('plotly.js/package.json');

// Stylesheets are only required for the map traces (maplibre-gl's CSS), which are not in
// this bundle: they resolve to nothing rather than to a side .css file.
const noCss = {
  name: 'no-css',
  setup(b) {
    b.onResolve({ filter: /\.css$/ }, (a) => ({ path: a.path, namespace: 'no-css' }));
    b.onLoad({ filter: /.*/, namespace: 'no-css' }, () => ({ contents: '', loader: 'js' }));
  },
};

// The same wrapper as plotly.min.js: `window.Plotly` in a page, `module.exports` in CommonJS.
const banner = `/**
* plotly.js v${version} (heymax partial bundle: scatter, bar, heatmap, sankey)
* Copyright 2012-2026, Plotly, Inc.
* All rights reserved.
* Licensed under the MIT license
*/
(function (root, factory) {
  if (typeof module === "object" && module.exports) {
    module.exports = factory();
  } else {
    root.Plotly = factory();
  }
}(typeof self !== "undefined" ? self : this, () => {`;
const footer = `window.Plotly = Plotly;
return Plotly;
}));`;

const result = await build({
  absWorkingDir: root,
  entryPoints: [join(here, 'index.js')],
  bundle: true,
  format: 'iife',
  globalName: 'Plotly',
  platform: 'browser',
  target: 'es2019',
  minify: true,
  legalComments: 'eof',
  charset: 'utf8',
  write: false,
  metafile: analyze,
  logLevel: 'warning',
  plugins: [noCss],
  // As plotly.js's own build (esbuild-config.js): one regl for every user, no AMD.
  alias: { regl: '@plotly/regl' },
  define: {
    global: 'window',
    'define.amd': 'false',
    'process.env.NODE_DEBUG': 'false',
  },
  banner: { js: banner },
  footer: { js: footer },
});

const code = result.outputFiles[0].contents;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, code);

const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
const gz = gzipSync(code, { level: 9 }).length;
console.log(`${relative(process.cwd(), out) || out}: ${code.length} bytes (${kb(code.length)}), gzip -9 ${gz} bytes (${kb(gz)}); plotly.js ${version}`);
if (analyze) console.log(await analyzeMetafile(result.metafile, { verbose: false }));
