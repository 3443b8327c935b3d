// Hashes with a shipped solver build (www/dist, served at /dist/: the Wasm glue, or the
// JavaScript solver gate-solver-js.js, whose init is a no-op) for a fixed time and reports
// the exact number of tries. The token is a well-formed challenge at difficulty 40, so a
// search almost never ends: the loop measures the steady-state rate of solve_step.
onmessage = async ({ data: { build, seconds, warmup = 1 << 20 } }) => {
  try {
    const glue = await import(`/dist/${build}.js`);
    await glue.default({ module_or_path: `/dist/${build}_bg.wasm` });
    const route = new TextEncoder().encode('/signup');
    const token = new Uint8Array(57 + route.length + 32);
    crypto.getRandomValues(token);
    token[0] = 1; // version
    token[37] = 40; // difficulty
    token[38] = 1; // k
    token[56] = route.length;
    token.set(route, 57);
    const solver = new glue.Solver(token, new Uint8Array(0));
    solver.begin(0, 0, 0);
    solver.solve_step(warmup); // warm up (tier-up of the Wasm or JIT code)
    let tries = 0;
    const start = performance.now();
    let index = 0;
    while (performance.now() - start < seconds * 1000) {
      if (solver.solve_step(Math.min(1 << 18, warmup))) {
        tries += solver.tries();
        solver.begin(++index, 0, 0);
      }
    }
    tries += solver.tries();
    postMessage({ tries, ms: performance.now() - start, simd: glue.Solver.simd() });
  } catch (err) {
    postMessage({ error: String(err) });
  }
};
