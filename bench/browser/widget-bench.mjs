#!/usr/bin/env node
// The widget benchmark (scripts/bench widget): in ONE headless-Chromium run,
//   - our solver's hash rate (simd128 and scalar Wasm builds, and the pure-JavaScript solver
//     for browsers without WebAssembly, www/dist), 1 thread and all threads;
//   - the peers' published solvers (bench/browser/peers.mjs), counted the same way;
//   - time to solve the default challenge through the real gate (wrangler dev + demo origin),
//     p50/p95 over >= 30 solves with the shipped widget (gate.solve); and with the JavaScript
//     solver on a page without WebAssembly, over --js-solves; the JavaScript solver's rate in a
//     Chromium without a JIT (--js-flags=--jitless, as iOS Lockdown Mode runs JavaScript);
//   - widget payloads, ours and the peers', raw and gzip;
// and prints ratios, including against the native solver rates passed in by scripts/bench
// (criterion; with and without the CPU's SHA extensions).
//
//   node bench/browser/widget-bench.mjs [--seconds 3] [--solves 30] [--js-solves 10] [--native-sha MHs] [--native-soft MHs]
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { serve } from './server.mjs';
import { measurePeers, peerPayloads, peerRoots } from './peers.mjs';
import { ourPayload } from './payload.mjs';
import { launch, person } from '../../tests/e2e/browser.mjs';
import { startOrigin, startWranglerDev, randomSecret, ROOT } from '../../tests/e2e/harness.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const SECONDS = opt('seconds', 3);
const SOLVES = opt('solves', 30);
const JS_SOLVES = opt('js-solves', 10);
const NATIVE_SHA = opt('native-sha', NaN) * 1e6;
const NATIVE_SOFT = opt('native-soft', NaN) * 1e6;

const mhs = (x) => (x / 1e6).toFixed(2);
const kb = (x) => (x / 1024).toFixed(1);
const ratio = (a, b) => (Number.isFinite(a / b) ? `${(a / b).toFixed(a / b >= 10 ? 0 : 2)}x` : 'n/a');
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function main() {
  const load = [loadavg()[0]];
  const server = await serve({ ...peerRoots(), '/dist/': join(ROOT, 'www', 'dist'), '/ours/': join(ROOT, 'bench', 'browser', 'ours') });
  const browser = await launch();
  const originSecret = randomSecret();
  const origin = await startOrigin({ originSecret });
  const gate = await startWranglerDev({ origin: origin.url, secrets: { GATE_SECRET: randomSecret(), ORIGIN_SECRET: originSecret } });
  try {
    const page = await browser.newPage();
    const threads = await page.evaluate(() => navigator.hardwareConcurrency);

    // our solver
    await page.goto(`${server.url}/ours/index.html`);
    await page.waitForFunction(() => window.oursBenchReady === true);
    const ours = {};
    for (const build of ['gate_solver_simd', 'gate_solver', 'gate-solver-js']) {
      const one = await page.evaluate((a) => window.oursBench.run(a), { build, threads: 1, seconds: SECONDS });
      const all = await page.evaluate((a) => window.oursBench.run(a), { build, threads, seconds: SECONDS });
      ours[build] = { one: one.hps, all: all.hps, simd: one.simd };
    }

    // peers, same page machinery and counting
    const peers = await measurePeers(page, server.url, { seconds: SECONDS });

    // The ratio to the WebCrypto loops is the noisiest: an await per nonce is at the mercy of
    // scheduling. On a shared machine noise only slows a run down, so measure our single thread
    // and both WebCrypto loops twice more, interleaved, and keep each one's best of three.
    const oursPage = await browser.newPage();
    await oursPage.goto(`${server.url}/ours/index.html`);
    await oursPage.waitForFunction(() => window.oursBenchReady === true);
    for (let rep = 0; rep < 2; rep++) {
      const o = await oursPage.evaluate((a) => window.oursBench.run(a), { build: 'gate_solver_simd', threads: 1, seconds: SECONDS });
      ours.gate_solver_simd.one = Math.max(ours.gate_solver_simd.one, o.hps);
      const again = await measurePeers(page, server.url, { seconds: SECONDS, only: ['webcrypto-anubis-style', 'webcrypto-1-block'], threads: 1 });
      for (const a of again) {
        const p = peers.find((x) => x.name === a.name);
        p.singleThreadHps = Math.max(p.singleThreadHps, a.singleThreadHps);
      }
    }

    // time to solve the default challenge with the shipped widget, through the gate
    // the shipped widget on the demo page, as a person's Chrome (headless automation is refused)
    const site = await (await person(browser)).newPage();
    await site.goto(`${gate.url}/signup`);
    await site.waitForFunction(() => window.gate && typeof window.gate.solve === 'function');
    // the default price, as the page's own browser is quoted it
    const defaults = await site.evaluate(async () => (await fetch('/__gate/challenge?route=/signup')).json());
    const times = [];
    await site.evaluate(() => window.gate.solve('/signup')); // warm-up (module compile, worker start)
    for (let i = 0; i < SOLVES; i++) {
      times.push(await site.evaluate(async () => {
        const t0 = performance.now();
        await window.gate.solve('/signup');
        return performance.now() - t0;
      }));
    }
    // the same with the JavaScript solver: a page without WebAssembly (its workers are told to
    // load gate-solver-js.js), as the widget runs it where Wasm is missing or refused
    const jsTimes = [];
    const jsSite = await (await person(browser)).newPage();
    await jsSite.addInitScript(() => {
      delete window.WebAssembly;
      document.addEventListener('gate:solved', (e) => { window.__solver = e.detail.solver; });
    });
    await jsSite.goto(`${gate.url}/signup`);
    await jsSite.waitForFunction(() => window.gate && typeof window.gate.solve === 'function');
    await jsSite.evaluate(() => window.gate.solve('/signup')); // warm-up
    const jsSolver = await jsSite.evaluate(() => window.__solver);
    for (let i = 0; i < JS_SOLVES; i++) {
      jsTimes.push(await jsSite.evaluate(async () => {
        const t0 = performance.now();
        await window.gate.solve('/signup');
        return performance.now() - t0;
      }));
    }
    // and without a JIT (Chromium --js-flags=--jitless, which also removes WebAssembly): what
    // iOS Lockdown Mode does to JavaScript
    const jitless = await launch({ automation: true, args: ['--js-flags=--jitless'] });
    let jitlessHps;
    try {
      const p = await jitless.newPage();
      await p.goto(`${server.url}/ours/index.html`);
      await p.waitForFunction(() => window.oursBenchReady === true);
      if (await p.evaluate(() => typeof WebAssembly !== 'undefined')) throw new Error('--jitless left WebAssembly');
      jitlessHps = (await p.evaluate((a) => window.oursBench.run(a), { build: 'gate-solver-js', threads: 1, seconds: SECONDS, warmup: 1 << 12 })).hps;
    } finally {
      await jitless.close();
    }
    load.push(loadavg()[0]);

    // report
    const simd1 = ours.gate_solver_simd.one;
    const byName = Object.fromEntries(peers.map((p) => [p.name, p]));
    const webcrypto = byName['webcrypto-anubis-style'];
    const webcryptoBest = byName['webcrypto-1-block'];
    console.log(`\nbrowser solvers, headless Chromium ${browser.version()}, ${threads} threads, ${SECONDS} s windows (load ${load.map((l) => l.toFixed(1)).join(' -> ')})`);
    console.log('(1 thread: best of 3 interleaved runs for ours (simd) and the two WebCrypto loops, 1 run for the rest)');
    console.log(`${'solver'.padEnd(34)}${'hash'.padEnd(22)}${'1 thread MH/s'.padStart(14)}${'all MH/s'.padStart(10)}${'ours(simd)/it'.padStart(15)}`);
    const row = (name, hash, one, all) => console.log(`${name.padEnd(34)}${hash.padEnd(22)}${mhs(one).padStart(14)}${mhs(all).padStart(10)}${ratio(simd1, one).padStart(15)}`);
    row('gate, Wasm simd128 (shipped)', 'SHA-256', simd1, ours.gate_solver_simd.all);
    row('gate, Wasm scalar (fallback)', 'SHA-256', ours.gate_solver.one, ours.gate_solver.all);
    const js = ours['gate-solver-js'];
    row('gate, JavaScript (no Wasm)', 'SHA-256', js.one, js.all);
    for (const p of peers) row(p.name, p.hash, p.singleThreadHps, p.allThreadsHps);
    if (Number.isFinite(NATIVE_SHA)) row('native solver, SHA extensions', 'SHA-256 (criterion)', NATIVE_SHA, NaN);
    if (Number.isFinite(NATIVE_SOFT)) row('native solver, portable', 'SHA-256 (criterion)', NATIVE_SOFT, NaN);

    const p50 = pct(times, 50);
    const p95 = pct(times, 95);
    console.log(`\ntime to solve the default challenge (difficulty ${defaults.difficulty}, k = ${defaults.k}: ${(defaults.k * 2 ** defaults.difficulty / 1e6).toFixed(1)} M hashes expected) with gate.solve, ${SOLVES} solves`);
    console.log(`  p50 ${p50.toFixed(0)} ms   p95 ${p95.toFixed(0)} ms   p95/p50 ${(p95 / p50).toFixed(2)}   min ${Math.min(...times).toFixed(0)} ms   max ${Math.max(...times).toFixed(0)} ms`);

    const jp50 = pct(jsTimes, 50);
    const jp95 = pct(jsTimes, 95);
    console.log(`\nthe same with the JavaScript solver (a page without WebAssembly; the widget reported solver '${jsSolver}'), ${JS_SOLVES} solves`);
    console.log(`  p50 ${jp50.toFixed(0)} ms   p95 ${jp95.toFixed(0)} ms   min ${Math.min(...jsTimes).toFixed(0)} ms   max ${Math.max(...jsTimes).toFixed(0)} ms   p50 JS / p50 Wasm simd ${(jp50 / p50).toFixed(2)}x`);
    console.log(`  JavaScript solver vs Wasm, per thread: simd128 ${ratio(simd1, js.one)} faster, scalar ${ratio(ours.gate_solver.one, js.one)} faster`);
    console.log(`  JavaScript solver without a JIT (--jitless, 1 thread): ${mhs(jitlessHps)} MH/s, ${ratio(js.one, jitlessHps)} slower than with it; the default challenge would take ~${(defaults.k * 2 ** defaults.difficulty / (jitlessHps * threads)).toFixed(0)} s on ${threads} threads`);

    const payloads = [ourPayload(), ...(await peerPayloads()).filter((p) => !p.name.startsWith('webcrypto'))];
    console.log('\nwidget payload (what a site serves for the widget to work)');
    for (const p of payloads) console.log(`  ${p.name.padEnd(20)}${kb(p.raw).padStart(8)} kB${kb(p.gzip).padStart(8)} kB gzip   ${p.files.map((f) => f.path.split('/').pop()).join(' + ')}`);
    console.log(`  ${payloads[0].note}`);
    const jsp = payloads[0].js;
    console.log(`  ${'gate, no Wasm'.padEnd(20)}${kb(jsp.raw).padStart(8)} kB${kb(jsp.gzip).padStart(8)} kB gzip   ${jsp.files.map((f) => f.path.split('/').pop()).join(' + ')}   (the JS solver alone: ${jsp.files[2].raw} bytes, ${jsp.files[2].gzip} gzip)`);

    const aims = [
      ['ours / WebCrypto-per-nonce loop, Anubis-style', simd1 / webcrypto.singleThreadHps, '>=', 100],
      ['ours / best-case one-block WebCrypto loop', simd1 / webcryptoBest.singleThreadHps, '', null],
      ['ours / @cap.js/wasm', simd1 / byName.cap.singleThreadHps, '>=', 3],
      ['ours / friendly-pow Wasm', simd1 / byName['friendly-captcha'].singleThreadHps, '>=', 2],
      ['ours / native with SHA extensions', simd1 / NATIVE_SHA, '>=', 0.5],
      ['widget payload, kB gzip', payloads[0].gzip / 1024, '<=', 20],
      ['solve time p95/p50', p95 / p50, '<=', 1.5],
    ];
    console.log('\naims (per thread)');
    for (const [what, value, op, need] of aims) {
      const verdict = need === null || !Number.isFinite(value) ? '' : (op === '>=' ? value >= need : value <= need) ? 'met' : 'NOT met';
      console.log(`  ${what.padEnd(48)} ${Number.isFinite(value) ? value.toFixed(2).padStart(8) : '     n/a'}  ${need === null ? '' : `aim ${op} ${need}`.padEnd(10)} ${verdict}`);
    }
    console.log(`WIDGET_BENCH_JSON ${JSON.stringify({ ours, peers: peers.map((p) => ({ name: p.name, one: p.singleThreadHps, all: p.allThreadsHps })), times, jsTimes, jsSolver, jitlessHps, payloads: payloads.map((p) => ({ name: p.name, raw: p.raw, gzip: p.gzip })), native: { sha: NATIVE_SHA, soft: NATIVE_SOFT } })}`);
  } finally {
    await browser.close();
    await server.close();
    await gate.stop();
    await origin.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
