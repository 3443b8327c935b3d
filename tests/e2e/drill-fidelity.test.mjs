// Fidelity of the attack drill: the small scenario (tests/data/drills/good/small.toml, a few
// thousand requests) played natively by `gate drill --export-requests`, then every request it
// made replayed against the built Worker in Miniflare — per-request `request.cf`, the real
// Durable Objects and the real demo origin — at the same (virtual = real) times, with the same
// lowered policy (POLICY var). The per-population admitted counts must agree within the
// tolerance below; the differences that remain are timing (the drill applies counts at the end
// of each virtual millisecond, the Worker after each origin answer) and the Worker's one-second
// clock.
//
// A drill of several isolates is replayed on as many copies of the Worker over the same objects,
// each request to its isolate's copy. Other scenarios can be replayed by hand:
//   FIDELITY_SCENARIO=tests/data/drills/good/fidelity.toml \
//   FIDELITY_POLICY=tests/data/drills/fidelity-policy.toml node --test tests/e2e/drill-fidelity.test.mjs
// Not covered: capacity pricing. That replay disagrees beyond the tolerance, part of it because
// the replay's isolates never restart where the drill's do (`isolate_life_secs`), the rest not yet
// understood. See docs/drill.md § Fidelity.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { liveGate, gateCli, ROOT } from './harness.mjs';
import { solve, solution } from './protocol.mjs';
import { stampedSignals } from './clients.mjs';

/** Allowed difference per population: 5 admitted sign-ups or 5 % of its attempts, the larger. */
const tolerance = (offered) => Math.max(5, Math.ceil(offered * 0.05));

describe('attack drill fidelity: native drill vs the built Worker (Miniflare)', () => {
  let drill;
  before(async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'drill-')), 'requests.json');
    // the widget before banking: this replay solves challenges, not top-ups
    const scenario = process.env.FIDELITY_SCENARIO ?? path.join(ROOT, 'tests/data/drills/good/small.toml');
    const policy = process.env.FIDELITY_POLICY ? ['--policy', process.env.FIDELITY_POLICY] : [];
    await gateCli('drill', scenario, ...policy, '--quiet', '--export-requests', out, '--widget', 'solve-on-focus');
    drill = JSON.parse(fs.readFileSync(out, 'utf8'));
  });
  // started after the drill ran: its policy is the drill's
  const live = liveGate({
    runtime: 'miniflare',
    reset: false,
    worker: () => ({
      bindings: { POLICY: drill.policy_json },
      isolates: 1 + Math.max(0, ...drill.requests.map((r) => r.isolate ?? 0)),
    }),
  });

  it('admits the same number of each population within tolerance', { timeout: 600_000 }, async () => {
    const on = (r) => live.gate.isolate(r.isolate ?? 0);
    const cf = (c) => Object.fromEntries(Object.entries(c).filter(([, v]) => v !== null));
    const tokens = new Map(); // attempt -> challenge token (what the Worker issued)
    const signalsOf = new Map(); // attempt -> the signals its challenge was asked with
    const admitted = {};
    const answers = {};
    const count = (bucket, pop, key) => {
      bucket[pop] ??= {};
      bucket[pop][key] = (bucket[pop][key] ?? 0) + 1;
    };
    const start = Date.now();
    const inflight = [];
    const fetching = new Map();
    for (const r of drill.requests) {
      const wait = start + r.t_ms - Date.now();
      if (wait > 0) await new Promise((res) => setTimeout(res, wait));
      const headers = Object.fromEntries(r.headers);
      headers['cf-connecting-ip'] = r.ip;
      if (r.step === 'challenge') {
        const fetched = (async () => {
          // the widget's ping chain against this Worker: its stamp replaces the drill's (signed
          // with the drill's key at virtual times); the replay's scenarios have no detour, so
          // both round trips stay under the gap check
          const signals = r.signals
            ? Buffer.from(await stampedSignals((u, i) => on(r).fetch(u, i), {
              headers, cf: cf(r.cf), signals: JSON.parse(Buffer.from(r.signals, 'base64url').toString()),
            })).toString('base64url')
            : '';
          signalsOf.set(r.attempt, signals);
          const q = new URLSearchParams({ route: r.route });
          if (signals) q.set('signals', signals);
          if (r.phone_code) q.set('phone', r.phone_code);
          const resp = await on(r).fetch(`https://example.com/__gate/challenge?${q}`, { headers, cf: cf(r.cf) });
          const body = await resp.json().catch(() => ({}));
          if (resp.status === 200) tokens.set(r.attempt, body.token);
          count(answers, r.population, `challenge ${resp.status === 200 ? 'issued' : body.error}`);
        })();
        // a client submits only once its challenge arrived: a slow machine delays the
        // submission rather than losing it
        fetching.set(r.attempt, fetched);
        inflight.push(fetched);
      } else {
        inflight.push((async () => {
          await fetching.get(r.attempt);
          const token = tokens.get(r.attempt);
          if (!token) { count(answers, r.population, 'submit without a Worker challenge'); return; }
          const sent = signalsOf.get(r.attempt);
          const signals = sent ? Buffer.from(sent, 'base64url').toString() : '';
          const tok = Buffer.from(token, 'base64url');
          const sol = solution(tok, solve(tok, signals), signals);
          const body = new URLSearchParams({ email: `a${r.attempt}@example.com`, phone: r.phone ?? '', 'gate-solution': sol });
          const resp = await on(r).fetch(`https://example.com${r.route}`, { method: 'POST', headers, body: body.toString(), cf: cf(r.cf), redirect: 'manual' });
          const text = await resp.text();
          let code = String(resp.status);
          try { code = JSON.parse(text).error ?? code; } catch { /* an HTML page */ }
          if (resp.status < 400) admitted[r.population] = (admitted[r.population] ?? 0) + 1;
          count(answers, r.population, `submit ${resp.status < 400 ? 'forwarded' : code}`);
        })());
      }
    }
    await Promise.all(inflight);
    const rows = drill.report.populations.map((p) => ({
      population: p.name, offered: p.offered, drill: p.admitted, worker: admitted[p.name] ?? 0, tolerance: tolerance(p.offered),
    }));
    console.log(`replayed ${drill.requests.length} requests in ${((Date.now() - start) / 1000).toFixed(1)} s`);
    console.table(rows);
    console.log(JSON.stringify(answers, null, 1));
    assert.ok(drill.requests.length >= 1000, `${drill.requests.length} requests`);
    for (const row of rows) {
      assert.ok(Math.abs(row.drill - row.worker) <= row.tolerance, `${row.population}: drill ${row.drill}, Worker ${row.worker}, tolerance ${row.tolerance}`);
    }
  });
});
