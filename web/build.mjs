// Builds the dashboard into ../internal/web/dist (committed, embedded in the
// gateway with go:embed): hashed assets, index.html pointing at them, and
// source.sha256, the hash of the sources it was built from. The Go test
// internal/web recomputes that hash (no Node needed) and fails when the
// committed bundle is stale.
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, '..', 'internal', 'web', 'dist');

// Files whose content decides the bundle, relative to web/. Keep in step with
// sourceFiles in internal/web/web_test.go.
const ROOT_FILES = ['build.mjs', 'package.json', 'package-lock.json', 'tsconfig.json'];

async function walk(dir) {
  const found = [];
  for (const e of await readdir(path.join(here, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) found.push(...(await walk(rel)));
    else if (e.isFile()) found.push(rel);
  }
  return found;
}

// sha256 over "path\nsha256(content)\n" for every file, paths sorted bytewise.
export async function sourceHash() {
  const files = [...ROOT_FILES, ...(await walk('src'))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const h = createHash('sha256');
  for (const f of files) {
    const content = await readFile(path.join(here, f));
    h.update(`${f}\n${createHash('sha256').update(content).digest('hex')}\n`);
  }
  return h.digest('hex');
}

// WalletConnect (Reown AppKit) is loaded by @stacks/connect only when a
// WalletConnect project id is configured; the dashboard has none, so the
// module is replaced by a stub instead of shipping megabytes nobody runs.
const noWalletConnect = {
  name: 'no-walletconnect',
  setup(build) {
    build.onResolve({ filter: /^@reown\// }, (args) => ({ path: args.path, namespace: 'stub' }));
    build.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
      contents: 'export const UniversalConnector = { init() { throw new Error("WalletConnect is not available in this dashboard"); } };',
      loader: 'js',
    }));
  },
};

async function main() {
  await rm(out, { recursive: true, force: true });
  await mkdir(path.join(out, 'assets'), { recursive: true });
  const result = await esbuild.build({
    absWorkingDir: here,
    entryPoints: { app: 'src/main.ts', style: 'src/styles.css' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome111', 'firefox115', 'safari16'],
    minify: true,
    sourcemap: false,
    legalComments: 'eof',
    charset: 'utf8',
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    outdir: path.join(out, 'assets'),
    metafile: true,
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
    plugins: [noWalletConnect],
  });
  const outputs = Object.entries(result.metafile.outputs);
  const pick = (entry) => {
    const hit = outputs.find(([, o]) => o.entryPoint === entry);
    if (!hit) throw new Error(`no output for ${entry}`);
    return '/assets/' + path.basename(hit[0]);
  };
  const html = (await readFile(path.join(here, 'src', 'index.html'), 'utf8'))
    .replace('{{js}}', pick('src/main.ts'))
    .replace('{{css}}', pick('src/styles.css'));
  await writeFile(path.join(out, 'index.html'), html);
  await writeFile(path.join(out, 'source.sha256'), `${await sourceHash()}\n`);
  for (const [file, o] of outputs) console.log(`${path.relative(here, file)}  ${(o.bytes / 1024).toFixed(1)} KiB`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await main();
}
