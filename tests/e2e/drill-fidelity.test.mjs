// Fidelity of the attack drill: a small scenario (tests/data/drills/good/fidelity.toml, a few
// thousand requests) played natively by `gate drill --export-requests` under
// tests/data/drills/fidelity-policy.toml (capacity pricing on /signup, a 5-second Retry-After),
// then every request it made replayed against the built Worker in Miniflare — per-request
// `request.cf`, the real Durable Objects and the real demo origin — at the same (virtual = real)
// times, with the same lowered policy (POLICY var). The drill spreads the requests over three
// isolates with cold starts and retries after busy answers (people with a fresh challenge,
// scripts resending); the replay sends every request the drill made, retries included, to the
// one Worker. The per-population admitted counts must agree within the tolerance below; the
// differences that remain are timing (the drill's isolates each see the others' counts a
// second late, as production's do; a loaded machine delays the replay) and the Worker's
// one-second clock.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { liveGate, gateCli, ROOT } from './harness.mjs';
import { solve, solution, solveTopUp, bundle, bundleWork, unb64 } from './protocol.mjs';

/** Allowed difference per population: 5 admitted sign-ups or 5 % of its attempts, the larger. */
const tolerance = (offered) => Math.max(5, Math.ceil(offered * 0.05));

describe('attack drill fidelity: native drill vs the built Worker (Miniflare)', () => {
  let drill;
  before(async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'drill-')), 'requests.json');
    await gateCli('drill', path.join(ROOT, 'tests/data/drills/good/fidelity.toml'), '--quiet',
      '--policy', path.join(ROOT, 'tests/data/drills/fidelity-policy.toml'), '--export-requests', out,
      // the widget before banking: the replay solves in plain JavaScript, and top-ups at
      // capacity prices take it far past real time (a top-up step is replayed when present)
      '--widget', 'solve-on-focus');
    drill = JSON.parse(fs.readFileSync(out, 'utf8'));
  });
  // started after the drill ran: its policy is the drill's
  const live = liveGate({ runtime: 'miniflare', reset: false, worker: () => ({ bindings: { POLICY: drill.policy_json } }) });

  it('covers capacity pricing, retries and several isolates', () => {
    const policy = JSON.parse(drill.policy_json);
    assert.ok(policy.attack.capacity?.length > 0, 'the policy states a capacity');
    const isolates = new Set(drill.requests.map((r) => r.isolate));
    assert.ok(isolates.size > 1, `requests on ${isolates.size} isolate(s)`);
    assert.ok(drill.report.cold_starts > 0, 'isolates restarted cold');
    const resends = drill.requests.filter((r) => r.resend).length;
    const fetches = new Map();
    for (const r of drill.requests) if (r.step === 'challenge') fetches.set(r.attempt, (fetches.get(r.attempt) ?? 0) + 1);
    const refetched = [...fetches.values()].filter((n) => n > 1).length;
    assert.ok(resends > 0 && refetched > 0, `${resends} resends, ${refetched} attempts with a second challenge`);
    const busy = drill.requests.filter((r) => r.answer === 'busy').length;
    assert.ok(busy > 0, 'capacity pricing shed some cohort');
    console.log(`isolates ${isolates.size}, cold starts ${drill.report.cold_starts}, busy answers ${busy}, resends ${resends}, refetches ${refetched}`);
  });

  it('admits the same number of each population within tolerance', { timeout: 300_000 }, async () => {
    const { mf } = live.gate;
    const cf = (c) => Object.fromEntries(Object.entries(c).filter(([, v]) => v !== null));
    const tokens = new Map(); // attempt -> challenge token (what the Worker issued)
    const admitted = {};
    const answers = {};
    const count = (bucket, pop, key) => {
      bucket[pop] ??= {};
      bucket[pop][key] = (bucket[pop][key] ?? 0) + 1;
    };
    const start = Date.now();
    const inflight = [];
    const fetching = new Map(); // attempt -> its last request in flight (each waits for the one before)
    const parts = new Map(); // attempt -> top-up parts added ([bytes, nonces])
    const firsts = new Map(); // token -> its solution (solved once: resends and top-ups reuse it)
    const solved = (r) => {
      const token = tokens.get(r.attempt);
      if (!firsts.has(token)) {
        const signals = r.signals ? Buffer.from(r.signals, 'base64url').toString() : '';
        const tok = Buffer.from(token, 'base64url');
        firsts.set(token, solution(tok, solve(tok, signals), signals));
      }
      return bundle(firsts.get(token), parts.get(r.attempt) ?? []);
    };
    for (const r of drill.requests) {
      const wait = start + r.t_ms - Date.now();
      if (wait > 0) await new Promise((res) => setTimeout(res, wait));
      const headers = Object.fromEntries(r.headers);
      headers['cf-connecting-ip'] = r.ip;
      if (r.step === 'challenge') {
        const q = new URLSearchParams({ route: r.route });
        if (r.signals) q.set('signals', r.signals);
        if (r.phone_code) q.set('phone', r.phone_code);
        const fetched = mf.dispatchFetch(`https://example.com/__gate/challenge?${q}`, { headers, cf: cf(r.cf) }).then(async (resp) => {
          const body = await resp.json().catch(() => ({}));
          if (resp.status === 200) { tokens.set(r.attempt, body.token); parts.set(r.attempt, []); }
          count(answers, r.population, `challenge ${resp.status === 200 ? 'issued' : body.error}`);
        });
        // a client submits only once its challenge arrived: a slow machine delays the
        // submission rather than losing it
        fetching.set(r.attempt, fetched);
        inflight.push(fetched);
      } else if (r.step === 'topup') {
        // the widget's top-up (banked work, or the price asked on submit): the replay asks the
        // Worker for its own offer against its own challenge, and solves it whole
        const previous = fetching.get(r.attempt);
        const topped = (async () => {
          await previous;
          if (!tokens.get(r.attempt)) return;
          const signals = r.signals ? Buffer.from(r.signals, 'base64url').toString() : '';
          const q = new URLSearchParams({ token: tokens.get(r.attempt), paid: String(bundleWork(solved(r))) });
          if (r.want) q.set('want', String(r.want));
          if (r.signals) q.set('signals', r.signals);
          if (r.phone_code) q.set('phone', r.phone_code);
          const resp = await mf.dispatchFetch(`https://example.com/__gate/topup?${q}`, { headers, cf: cf(r.cf) });
          const body = await resp.json().catch(() => ({}));
          count(answers, r.population, `topup ${resp.status === 200 ? (body.topup ? 'offered' : 'none') : body.error}`);
          if (body.topup) {
            const t = unb64(body.topup.token);
            parts.get(r.attempt)?.push([t, solveTopUp(t, body.topup.k, signals)]);
          }
        })();
        fetching.set(r.attempt, topped);
        inflight.push(topped);
      } else {
        const submitted = (async () => {
          await fetching.get(r.attempt);
          const token = tokens.get(r.attempt);
          if (!token) { count(answers, r.population, 'submit without a Worker challenge'); return; }
          const sol = solved(r);
          const body = new URLSearchParams({ email: `a${r.attempt}@example.com`, phone: r.phone ?? '', 'gate-solution': sol });
          const resp = await mf.dispatchFetch(`https://example.com${r.route}`, { method: 'POST', headers, body: body.toString(), cf: cf(r.cf), redirect: 'manual' });
          const text = await resp.text();
          let code = String(resp.status);
          try { code = JSON.parse(text).error ?? code; } catch { /* an HTML page */ }
          if (resp.status < 400) admitted[r.population] = (admitted[r.population] ?? 0) + 1;
          count(answers, r.population, `submit ${resp.status < 400 ? 'forwarded' : code}`);
        })();
        fetching.set(r.attempt, submitted);
        inflight.push(submitted);
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
