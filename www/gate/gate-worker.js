// The solver Web Worker: loads the Rust solver (src/solver.rs compiled to Wasm) and solves the
// sub-puzzles the page hands it, one at a time, reporting progress between bounded steps.
// The page cancels it with terminate(). Module worker, same origin: no eval, no blob: URLs.

/** Nonces per step: ~10–30 ms at browser speeds, so progress stays fresh. */
const BUDGET = 1 << 18;

let solver;

onmessage = async ({ data: m }) => {
  try {
    if (m.type === 'init') {
      const glue = await import(m.glue);
      await glue.default({ module_or_path: m.wasm });
      solver = new glue.Solver(m.token, m.signals);
      if (!solver.valid()) throw new Error('invalid challenge token');
      postMessage({ type: 'ready', simd: glue.Solver.simd() });
    } else if (m.type === 'solve') {
      solver.begin(m.index, 0, 0);
      while (!solver.solve_step(BUDGET)) {
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
