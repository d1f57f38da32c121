// The last step of scripts/build-site.sh: names each bundle and the style sheet by their
// content (so browsers may keep them for a year: a new build is a new name) and compresses them
// once, at build time, with brotli and gzip (the server sends what the browser accepts; it
// compresses nothing per request).
//
//   node scripts/finish-site.mjs target/site/pkg ampwise login home licences reporters wizard other --later qr
//
// Reads NAME-BUNDLE.js + NAME-BUNDLE_bg.wasm for each bundle (and each module a page loads
// later, named after --later: the QR decoder) and NAME.css; writes
// NAME-BUNDLE-HASH.js, NAME-BUNDLE-HASH_bg.wasm, NAME-HASH.css (+ .br, .gz) and assets.json
// {"css": "NAME-HASH.css", "login": "NAME-login-HASH", …}, which the server reads at start-up.
// Prints each file's sizes and what a first visit downloads with each bundle.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const [pkg, name, ...rest] = process.argv.slice(2);
const split = rest.indexOf('--later');
const bundles = split < 0 ? rest : rest.slice(0, split);
const later = split < 0 ? [] : rest.slice(split + 1);
const hashOf = (...parts) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex').slice(0, 16);
};
const read = (file) => fs.readFileSync(path.join(pkg, file));

// What this build made, under its final names.
const outputs = []; // { file, bytes, kind }
const manifest = {};
const css = read(`${name}.css`);
manifest.css = `${name}-${hashOf(css)}.css`;
outputs.push({ file: manifest.css, bytes: css, kind: 'css' });
for (const bundle of [...bundles, ...later]) {
  const js = read(`${name}-${bundle}.js`);
  const wasm = read(`${name}-${bundle}_bg.wasm`);
  const named = `${name}-${bundle}-${hashOf(wasm, js)}`;
  manifest[bundle] = named;
  outputs.push({ file: `${named}.js`, bytes: js, kind: 'js', bundle });
  outputs.push({ file: `${named}_bg.wasm`, bytes: wasm, kind: 'wasm', bundle });
}

// Earlier builds' files and the unnamed ones go; only this build's stay.
for (const file of fs.readdirSync(pkg)) {
  if (file === `${name}.css` || file.startsWith(`${name}-`) || file.startsWith(`${name}_`)) {
    fs.rmSync(path.join(pkg, file));
  }
}
if (fs.existsSync(path.join(pkg, `${name}.js`))) fs.rmSync(path.join(pkg, `${name}.js`));

const sizes = {};
for (const { file, bytes, kind, bundle } of outputs) {
  const br = zlib.brotliCompressSync(bytes, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      [zlib.constants.BROTLI_PARAM_MODE]: kind === 'wasm' ? zlib.constants.BROTLI_MODE_GENERIC : zlib.constants.BROTLI_MODE_TEXT,
    },
  });
  const gz = zlib.gzipSync(bytes, { level: 9 });
  fs.writeFileSync(path.join(pkg, file), bytes);
  fs.writeFileSync(path.join(pkg, `${file}.br`), br);
  fs.writeFileSync(path.join(pkg, `${file}.gz`), gz);
  sizes[file] = br.length;
  console.log(`${file.padEnd(40)} ${String(bytes.length).padStart(9)} B raw ${String(gz.length).padStart(8)} B gzip ${String(br.length).padStart(8)} B brotli`);
  if (bundle) sizes[bundle] = (sizes[bundle] ?? 0) + br.length;
}
fs.writeFileSync(path.join(pkg, 'assets.json'), JSON.stringify(manifest) + '\n');
for (const bundle of bundles) {
  console.log(`first load with the ${bundle} bundle (wasm + JS + CSS), brotli: ${sizes[bundle] + sizes[manifest.css]} B`);
}
