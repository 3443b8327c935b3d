import fs from 'node:fs';
const token = Buffer.from(JSON.parse(fs.readFileSync('/work/main/tests/data/vectors.json')).challenges[0].token, 'base64url');
token[37] = 40;
const mods = {};
for (const v of ['old', 'new']) { mods[v] = await import(`/tmp/ab/${v}/s.js`); mods[v].initSync({ module: fs.readFileSync(`/tmp/ab/${v}/s_bg.wasm`) }); }
const rates = { old: [], new: [] };
for (let round = 0; round < 6; round++) for (const v of ['old', 'new']) {
  const s = new mods[v].Solver(token, new Uint8Array()); s.begin(0, round, 0); s.solve_step(1_000_000);
  const t0 = performance.now(); while (performance.now() - t0 < 700) s.solve_step(500_000);
  rates[v].push((s.tries() - 1e6) / (performance.now() - t0) / 1000);
}
for (const [k, v] of Object.entries(rates)) console.log(k, 'best', Math.max(...v).toFixed(2), 'MH/s');
