// The widget's payload: what a site serves for the widget to work (www/dist), raw and gzip.
// Shared by the widget benchmark (bench/browser/widget-bench.mjs) and the size test in
// tests/e2e/widget.test.mjs, so both count the same files.
import { readFileSync, readdirSync } from 'node:fs';
import { gzipSync, constants } from 'node:zlib';
import { join } from 'node:path';
import { ROOT } from '../../tests/e2e/harness.mjs';

/** The widget payload aim, kB gzip (1 kB = 1024 bytes). */
export const PAYLOAD_AIM_KB = 20;

const kb = (x) => (x / 1024).toFixed(1);

export function ourPayload() {
  const row = (f) => {
    const b = readFileSync(join(ROOT, 'www', 'dist', f));
    return { path: `www/dist/${f}`, raw: b.length, gzip: gzipSync(b, { level: constants.Z_BEST_COMPRESSION }).length };
  };
  const rows = ['gate.js', 'gate-worker.js', 'gate_solver_simd.js', 'gate_solver_simd_bg.wasm'].map(row);
  // a page in another language than English also fetches its messages: count the largest
  const translations = readdirSync(join(ROOT, 'www', 'dist')).filter((f) => f.startsWith('gate-i18n-')).map(row);
  rows.push(translations.sort((a, b) => b.gzip - a.gzip)[0]);
  const scalar = ['gate_solver.js', 'gate_solver_bg.wasm'].map((f) => readFileSync(join(ROOT, 'www', 'dist', f)));
  const js = ['gate.js', 'gate-worker.js', 'gate-solver-js.js'].map(row);
  return {
    js: { files: js, raw: js.reduce((a, r) => a + r.raw, 0), gzip: js.reduce((a, r) => a + r.gzip, 0) },
    name: 'gate (ours)',
    files: rows,
    raw: rows.reduce((a, r) => a + r.raw, 0),
    gzip: rows.reduce((a, r) => a + r.gzip, 0),
    note: `what a simd128 browser downloads, with the largest translation (an English page skips it); a browser without SIMD loads the scalar glue+Wasm instead (${kb(scalar.reduce((a, b) => a + gzipSync(b, { level: 9 }).length, 0))} kB gzip)`,
  };
}
