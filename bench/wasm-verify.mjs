// Times the wasm32 verifier under Node (built by scripts/bench from examples/wasm_verify.rs):
// verify of the default proof and of the largest bundle, each vs one bare SHA-256 of the same
// bytes, in the same process.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const wasm = require(process.argv[2]);

function time(fn, n) {
  fn(Math.max(1, n / 10)); // warm up
  let best = Infinity;
  for (let round = 0; round < 9; round++) {
    const t0 = performance.now();
    fn(n);
    best = Math.min(best, (performance.now() - t0) / n);
  }
  return best * 1000; // µs per op, best of 9 rounds (the machine is shared: take the quietest)
}

const raw = wasm.default_solution();
const passed = wasm.verify_n(raw, 1);
if (passed !== 1) throw new Error('the benchmark proof does not verify');
if (wasm.assess_n(1) !== 0) throw new Error('the Chrome fixture should score 0');
const verify = time((n) => wasm.verify_n(raw, n), 20000);
const sha = time((n) => wasm.sha256_n(raw, n), 200000);
const assess = time((n) => wasm.assess_n(n), 20000);
const largest = wasm.largest_solution();
if (wasm.verify_n(largest, 1) !== 1) throw new Error('the largest bundle does not verify');
const verifyLargest = time((n) => wasm.verify_n(largest, n), 2000);
const shaLargest = time((n) => wasm.sha256_n(largest, n), 50000);
console.log(JSON.stringify({
  solution_bytes: raw.length, verify_us: verify, sha256_us: sha, ratio: verify / sha, assess_us: assess,
  largest: { solution_bytes: largest.length, verify_us: verifyLargest, sha256_us: shaLargest, ratio: verifyLargest / shaLargest },
}));
