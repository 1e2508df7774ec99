// Builds the browser scripts from src/ (make assets): esbuild bundles each source with the
// names it imports from kruimel/base/shared.json and minifies it; kruimel.js gets the content
// hashes of the files it loads; every served file gets a .gz and a .br beside it, which the
// asset server picks by Accept-Encoding. The output is committed, so Python users never need
// Node (no banner comment: the tracker's bytes count; the sources sit in src/ beside the
// built files); tests/test_asset_build.py rebuilds into a temporary folder and compares bytes.
//
//   node static/banner/build.mjs [--out DIR]     (default: static/banner)
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const at = process.argv.indexOf('--out');
const out = at > 0 ? process.argv[at + 1] : here;
// Browsers from 2020 on: fetch keepalive, optional catch binding, URL, Element.closest.
const TARGET = ['chrome80', 'firefox78', 'safari14', 'edge80'];
const STYLES = ['banner.css', 'policy.css'];

async function bundle(name, define = {}) {
  const result = await build({
    entryPoints: [join(here, 'src', name)],
    bundle: true,
    minify: true,
    format: 'iife',
    target: TARGET,
    legalComments: 'none',
    charset: 'utf8',
    define,
    write: false,
    logLevel: 'warning'
  });
  const code = result.outputFiles[0].contents;
  writeFileSync(join(out, name), code);
  return code;
}

// The same short hash as kruimel.base.assets.asset_version: the `?v=` a year-long cached URL carries.
const version = (bytes) => createHash('sha256').update(bytes).digest('hex').slice(0, 12);

mkdirSync(out, { recursive: true });
if (out !== here) STYLES.forEach((name) => copyFileSync(join(here, name), join(out, name)));
const versions = {};
for (const name of ['tracker.js', 'banner.js', 'consent-mode.js']) {
  versions[name] = version(await bundle(name));
}
versions['banner.css'] = version(readFileSync(join(out, 'banner.css')));
// Only the files kruimel.js loads (a define is written out whole).
const loaded = ['tracker.js', 'banner.js', 'banner.css'];
await bundle('kruimel.js', {
  ASSET_VERSIONS: JSON.stringify(Object.fromEntries(loaded.map((name) => [name, versions[name]])))
});

for (const name of ['tracker.js', 'banner.js', 'consent-mode.js', 'kruimel.js', ...STYLES]) {
  const bytes = readFileSync(join(out, name));
  writeFileSync(join(out, name + '.gz'), gzipSync(bytes, { level: 9 }));
  writeFileSync(join(out, name + '.br'), brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length
    }
  }));
}
