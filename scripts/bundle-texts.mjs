// Keeps a small bundle's list of texts (app/texts/BUNDLE.keys, read by app/build.rs) complete:
// every key of locales/en.json that the bundle's linked wasm names. A key the code names is a
// string literal in the wasm's data, so a key found there and missing from the list is one the
// bundle would show untranslated (as the key itself). `error.*` keys are always linked (the
// server sends them), so they are not listed.
//
//   node scripts/bundle-texts.mjs target/wasm32-unknown-unknown/wasm-release/frontend.wasm home
//
// Adds what is missing to the list and exits 10 (the bundle must be built again with it); exits
// 0 when nothing is missing. A key that only appears inside a longer string is added too (it
// costs its text's bytes, nothing else). Keys no longer used stay listed until the list is
// emptied and rebuilt by `scripts/build-site.sh`.
import fs from 'node:fs';

const [wasmFile, bundle] = process.argv.slice(2);
const listFile = `app/texts/${bundle}.keys`;
const wasm = fs.readFileSync(wasmFile);
const keys = Object.keys(JSON.parse(fs.readFileSync('locales/en.json', 'utf8')));
const lines = fs.readFileSync(listFile, 'utf8').split('\n');
const header = lines.filter((line) => line.startsWith('#'));
const listed = new Set(lines.map((line) => line.trim()).filter((line) => line && !line.startsWith('#')));

const missing = keys.filter((key) => !key.startsWith('error.') && !listed.has(key) && wasm.includes(key));
if (missing.length === 0) process.exit(0);
for (const key of missing) listed.add(key);
fs.writeFileSync(listFile, [...header, ...[...listed].sort()].join('\n') + '\n');
console.log(`${listFile}: added ${missing.join(', ')} (the ${bundle} bundle names them; commit the list)`);
process.exit(10);
