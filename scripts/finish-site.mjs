// The last step of scripts/build-site.sh: names the bundle by its content (so browsers may keep
// it for a year: a new build is a new name) and compresses it once, at build time, with brotli
// and gzip (the server sends what the browser accepts; it compresses nothing per request).
//
//   node scripts/finish-site.mjs target/site/pkg ampwise
//
// Writes NAME-HASH.js, NAME-HASH_bg.wasm, NAME-HASH.css (+ .br, .gz) and assets.json
// {"output_name": "NAME-HASH"}, which the server reads at start-up; prints the sizes.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const [pkg, name] = process.argv.slice(2);
const plain = { js: `${name}.js`, wasm: `${name}_bg.wasm`, css: `${name}.css` };
const bytes = Object.fromEntries(
  Object.entries(plain).map(([kind, file]) => [kind, fs.readFileSync(path.join(pkg, file))]),
);
const hash = createHash('sha256').update(bytes.wasm).update(bytes.js).update(bytes.css)
  .digest('hex').slice(0, 16);
const output = `${name}-${hash}`;
const named = { js: `${output}.js`, wasm: `${output}_bg.wasm`, css: `${output}.css` };

// Earlier builds' bundles and the unnamed ones go; only this build's stays.
for (const file of fs.readdirSync(pkg)) {
  if (file.startsWith(`${name}-`) || Object.values(plain).includes(file)) fs.rmSync(path.join(pkg, file));
}
const rows = [];
for (const [kind, file] of Object.entries(named)) {
  const raw = bytes[kind];
  const br = zlib.brotliCompressSync(raw, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
      [zlib.constants.BROTLI_PARAM_MODE]: kind === 'wasm' ? zlib.constants.BROTLI_MODE_GENERIC : zlib.constants.BROTLI_MODE_TEXT,
    },
  });
  const gz = zlib.gzipSync(raw, { level: 9 });
  fs.writeFileSync(path.join(pkg, file), raw);
  fs.writeFileSync(path.join(pkg, `${file}.br`), br);
  fs.writeFileSync(path.join(pkg, `${file}.gz`), gz);
  rows.push({ file, raw: raw.length, gzip: gz.length, brotli: br.length });
}
fs.writeFileSync(path.join(pkg, 'assets.json'), JSON.stringify({ output_name: output }) + '\n');
const total = rows.reduce((sum, r) => sum + r.brotli, 0);
for (const r of rows) console.log(`${r.file.padEnd(34)} ${String(r.raw).padStart(9)} B raw ${String(r.gzip).padStart(8)} B gzip ${String(r.brotli).padStart(8)} B brotli`);
console.log(`first load (wasm + JS + CSS), brotli: ${total} B`);
