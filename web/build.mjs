// Builds the chat page into src/SeekSharp.Server/App/wwwroot (committed, embedded in the server assembly).
// node build.mjs          writes the files
// node build.mjs --check  builds in memory and exits 1 if a committed file differs (the build is reproducible
//                         from package-lock.json: pinned versions, no timestamps, no absolute paths in the output).
import * as esbuild from 'esbuild';
import { readFileSync, writeFileSync, mkdirSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'src', 'SeekSharp.Server', 'App', 'wwwroot');
const check = process.argv.includes('--check');

const common = {
  absWorkingDir: here,
  bundle: true,
  minify: true,
  write: false,
  legalComments: 'linked',   // the libraries' licence comments go to .LEGAL.txt files beside the bundles
  logLevel: 'warning',
  charset: 'utf8',
};

const js = await esbuild.build({
  ...common,
  entryPoints: ['src/app.js'],
  outdir: join(out, 'assets'),
  splitting: true,             // markdown.js (Markdown, KaTeX, highlight.js) is a chunk loaded after the page
  chunkNames: 'chunk-[hash]',
  format: 'esm',
  target: ['es2022'],
});
const css = await esbuild.build({
  ...common,
  entryPoints: ['src/app.css'],
  outfile: join(out, 'assets', 'app.css'),
  // KaTeX lists woff2, woff and ttf for each font; every browser the page supports takes woff2 first, so only those ship.
  loader: { '.woff2': 'file' },
  external: ['*.woff', '*.ttf'],
  assetNames: 'fonts/[name]',
});

const files = new Map();
for (const f of [...js.outputFiles, ...css.outputFiles]) files.set(relative(out, f.path), Buffer.from(f.contents));
files.set('index.html', readFileSync(join(here, 'src', 'index.html')));
files.set('favicon.svg', readFileSync(join(here, 'src', 'favicon.svg')));

function committed(dir, prefix = '') {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap(e =>
    e.isDirectory() ? committed(join(dir, e.name), prefix + e.name + '/') : [prefix + e.name]);
}

if (check) {
  const stale = [];
  for (const [name, bytes] of files) {
    const path = join(out, name);
    if (!existsSync(path) || !readFileSync(path).equals(bytes)) stale.push(name);
  }
  for (const name of committed(out)) if (!files.has(name)) stale.push(name + ' (not built any more)');
  if (stale.length) {
    console.error(`web: the committed page differs from a fresh build in: ${stale.join(', ')}; run node web/build.mjs`);
    process.exit(1);
  }
  console.log(`web: ${files.size} committed files equal a fresh build`);
} else {
  rmSync(out, { recursive: true, force: true });
  let total = 0;
  for (const [name, bytes] of files) {
    mkdirSync(dirname(join(out, name)), { recursive: true });
    writeFileSync(join(out, name), bytes);
    total += bytes.length;
  }
  console.log(`web: wrote ${files.size} files, ${(total / 1024).toFixed(0)} KiB, to ${relative(process.cwd(), out)}`);
}
