// The solver Web Worker: loads the Rust solver (src/solver.rs compiled to Wasm), or the
// pure-JavaScript one (gate-solver-js.js) where WebAssembly is missing or refused (no
// WebAssembly object, or a Content-Security-Policy without 'wasm-unsafe-eval' makes
// compiling throw), and solves the sub-puzzles the page hands it, one at a time, reporting
// progress between bounded steps. Both have the same stepped interface and find the same
// nonces. The page cancels it with terminate(). Module worker, same origin: no eval, no blob:.

/** Nonces per step: ~10–30 ms at Wasm speeds (~50–150 ms in JavaScript), so progress stays fresh. */
const BUDGET = { wasm: 1 << 18, js: 1 << 16 };

let solver;
let kind;

/** The Wasm solver, or null (with the reason) when this browser will not compile it. */
async function loadWasm(m) {
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.instantiate !== 'function') return { reason: 'no WebAssembly' };
  try {
    const glue = await import(m.glue);
    await glue.default({ module_or_path: m.wasm });
    return { glue };
  } catch (err) {
    // CompileError (CSP without 'wasm-unsafe-eval'), EvalError, LinkError, or a module that
    // would not load: the JavaScript solver gives the same answers, only slower
    return { reason: String((err && err.name) || 'Error') + ': ' + String(err && err.message ? err.message : err) };
  }
}

onmessage = async ({ data: m }) => {
  try {
    if (m.type === 'init') {
      const wasm = m.solver === 'js' ? { reason: 'asked for JavaScript' } : await loadWasm(m);
      let fallback;
      if (wasm.glue) {
        solver = new wasm.glue.Solver(m.token, m.signals);
        kind = wasm.glue.Solver.simd() ? 'wasm-simd' : 'wasm';
      } else {
        const js = await import(m.js);
        solver = new js.Solver(m.token, m.signals);
        kind = 'js';
        fallback = wasm.reason;
      }
      if (!solver.valid()) throw new Error('invalid challenge token');
      postMessage({ type: 'ready', solver: kind, simd: kind === 'wasm-simd', fallback });
    } else if (m.type === 'solve') {
      const budget = kind === 'js' ? BUDGET.js : BUDGET.wasm;
      solver.begin(m.index, 0, 0);
      while (!solver.solve_step(budget)) {
        if (solver.exhausted()) throw new Error('nonce space exhausted');
        postMessage({ type: 'progress', index: m.index, tries: solver.tries() });
      }
      const hex = (n) => (n >>> 0).toString(16).padStart(8, '0');
      postMessage({ type: 'found', index: m.index, nonce: hex(solver.nonce_hi()) + hex(solver.nonce_lo()), tries: solver.tries() });
    }
  } catch (err) {
    postMessage({ type: 'error', message: String(err && err.message ? err.message : err) });
  }
};
