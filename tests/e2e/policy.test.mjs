// The policy and attack mode end to end: the built Worker in workerd (Miniflare dispatchFetch,
// so every request carries its own request.cf) with its real Durable Objects (ledger, cohort
// counters, stats) in front of the real demo origin. What got through is asserted on the
// origin's own record; the native `gate` CLI solves the challenges.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { liveGate, testPolicy, testPolicyToml, policyJson, randomSecret, gateCli, ROOT, env } from './harness.mjs';
import { mintToken, parseToken, unb64, lazyNonce, solution as solutionString } from './protocol.mjs';
import { HOST, SIGNALS, SPIKER, QUIET, chromeClient as client } from './clients.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const forwarded = (r) => r.status !== null && r.status >= 200 && r.status < 300;

describe('per-cohort attack mode, stats', () => {
  const statsToken = randomSecret();
  // a short window and low levels, so a test-sized spike trips them and decays quickly
  const policy = testPolicy({
    attack: [
      'enabled = true',
      'window_secs = 10',
      'cohorts = ["asn", "ip_prefix"]',
      'levels = [{ at = 2, extra_bits = 2 }, { at = 4, busy = true }]',
      'retry_after_secs = 30',
    ].join('\n'),
  });
  const live = liveGate({ runtime: 'miniflare', reset: false, worker: { bindings: { STATS_TOKEN: statsToken, COHORT_SHARDS: '4', POLICY: policy } } });
  const spiker = client(() => live.gate, { cf: SPIKER, ip: '203.0.113.10' });
  const quiet = client(() => live.gate, { cf: QUIET, ip: '192.0.2.20' });

  it('a spike from one ASN escalates, then sheds that ASN only; logins pass; it decays back', async () => {
    // 1. sign-ups pay the base price until the network's rate reaches the first level. A
    //    sign-up is counted once its spend is fresh, so the level is reached by the second
    //    sign-up; a challenge fetched before that, at the base price, is then no longer enough
    //    (two bits more): its client is asked for a top-up
    const pending = await spiker.challenge();
    assert.equal(pending.json.difficulty, 12);
    const steps = [];
    for (let i = 0; i < 8; i++) {
      const c = await spiker.challenge();
      if (c.json.difficulty !== 12) break;
      const r = await spiker.submit('/signup', await spiker.solve(c));
      assert.ok(forwarded(r), r.text);
      steps.push(r.status);
    }
    assert.ok(steps.length >= 2 && steps.length <= 4, `escalated after ${steps.length} sign-ups`);
    // the price rose by two bits: more work is asked (a top-up), nothing is spent
    const stale = await spiker.submit('/signup', await spiker.solve(pending));
    assert.equal(stale.status, 402, stale.text);
    assert.equal(stale.json.error, 'more_work');
    assert.equal(stale.json.work.missing, stale.json.work.asked - stale.json.work.paid);
    assert.ok(stale.json.topup.k * stale.json.topup.each >= stale.json.work.missing, stale.text);
    steps.push(stale.status);
    const third = await spiker.signUp();
    assert.equal(third.issue.json.difficulty, 14, 'the escalated price');
    // 2. the escalated price is paid and forwarded
    assert.ok(forwarded(third), third.text);

    // 3. a burst of solved challenges crosses the shedding level: the rest are shed, and the
    //    challenge endpoint sheds that network too, with Retry-After
    const issued = [];
    for (let i = 0; i < 8; i++) issued.push(await spiker.challenge());
    assert.ok(issued.every((c) => c.json.difficulty === 14), JSON.stringify(issued.map((c) => c.json.difficulty)));
    const solutions = await Promise.all(issued.map((c) => spiker.solve(c)));
    // one after another: a sign-up is counted once its spend is fresh, alongside its forward,
    // so the next one sees it (a concurrent burst is read before any of it is counted)
    const burst = [];
    for (const s of solutions) burst.push(await spiker.submit('/signup', s));
    const shed = burst.filter((r) => r.status === 503);
    assert.ok(shed.length >= 6, `most of the burst is shed: ${burst.map((r) => r.status)}`);
    assert.ok(shed.every((r) => r.json.error === 'busy' && r.headers.get('retry-after') === '30'));
    const blocked = await spiker.challenge();
    assert.equal(blocked.status, 503);
    assert.equal(blocked.json.error, 'busy');
    assert.equal(blocked.headers.get('retry-after'), '30');
    assert.match(blocked.json.message, /logging in still works/);
    const fromSpiker = (await live.origin.posts('/signup')).length;
    assert.equal(fromSpiker, steps.length - 1 + 1 + burst.filter(forwarded).length);

    // 4. meanwhile another network signs up at the base price, and the spiking network's
    //    existing users still log in
    const other = await quiet.signUp();
    assert.equal(other.issue.json.difficulty, 12);
    assert.ok(forwarded(other), other.text);
    const login = await spiker.login();
    assert.equal(login.status, 303);
    assert.equal((await live.origin.posts('/login')).length, 1);
    assert.equal((await live.origin.posts('/signup')).length, fromSpiker + 1);

    // 5. the stats endpoint refuses without the token and reports the spike with it
    for (const auth of [undefined, 'Bearer nope', `Bearer ${statsToken}x`, 'Basic Og==']) {
      const r = await spiker.get('/__gate/stats', auth ? { Authorization: auth } : {});
      assert.equal(r.status, 401, auth);
      assert.equal(r.json.error, 'unauthorized');
      assert.ok(r.headers.get('www-authenticate'));
      assert.ok(!r.text.includes('asn:64500'));
    }
    let stats;
    for (let i = 0; i < 50; i++) {
      stats = (await spiker.get('/__gate/stats', { Authorization: `Bearer ${statsToken}` })).json;
      if ((stats.decisions.rejections_by_code.busy ?? 0) >= shed.length + 1 && stats.decisions.by_action.forward >= 3) break;
      await sleep(100);
    }
    assert.equal(stats.policy.ok, true);
    assert.match(stats.policy.source, /^POLICY var, sha256 [0-9a-f]{16}$/);
    assert.ok(stats.decisions.by_action.forward >= 3, JSON.stringify(stats.decisions));
    assert.ok(stats.decisions.rejections_by_code.busy >= shed.length + 1, JSON.stringify(stats.decisions));
    assert.equal(stats.decisions.rejections_by_code.more_work, 1);
    const asn = stats.cohorts.find((c) => c.key === 'asn:64500');
    assert.ok(asn, JSON.stringify(stats.cohorts));
    assert.equal(asn.state, 'busy');
    assert.equal(asn.level, 2);
    assert.ok(asn.rate >= 4, asn.rate);
    const quietRow = stats.cohorts.find((c) => c.key === 'asn:3209');
    assert.equal(quietRow?.state, 'normal');
    const page = await spiker.get('/__gate/stats', {
      Authorization: `Basic ${Buffer.from(`ops:${statsToken}`).toString('base64')}`,
      Accept: 'text/html',
    });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type'), /text\/html/);
    assert.match(page.text, /<svg role="img"/);
    assert.match(page.text, /asn:64500<\/td><td>[\d.]+<\/td><td>2<\/td><td>busy/);

    // 6. with the spike over, the counter decays: escalated again, then back to the base price
    const states = [];
    const start = Date.now();
    for (;;) {
      const c = await spiker.challenge();
      const state = c.status === 503 ? 'busy' : `${c.json.difficulty}`;
      if (states.at(-1) !== state) states.push(state);
      if (state === '12') break;
      assert.ok(Date.now() - start < 60_000, `still ${states} after a minute`);
      await sleep(500);
    }
    assert.deepEqual(states, ['busy', '14', '12'], 'steps back down level by level');
    // the network signs up again (counted, this sign-up may cross the first level once more:
    // then one refetch at the price asked)
    let again = await spiker.signUp();
    if (again.json?.error === 'risk_increased') again = await spiker.signUp();
    assert.ok(forwarded(again), again.text);
  });

  it('logs each decision with the cohort rates it was made on', async () => {
    const busy = await live.gate.waitForLog((l) => l.code === 'busy' && l.path === '/signup');
    assert.ok(busy);
    assert.equal(busy.outcome, 'busy');
    assert.equal(busy.asn, 64500);
    assert.equal(busy.ip_prefix, '203.0.113.0/24');
    assert.match(busy.why, /cohort (asn:64500|ip_prefix:203\.0\.113\.0\/24) at \d+\/window \(level 2\)/);
    assert.ok(busy.cohorts.some(([k, r]) => k === 'asn:64500' && r >= 4), JSON.stringify(busy.cohorts));
    assert.ok(!JSON.stringify(live.gate.logs()).includes('203.0.113.10'), 'client addresses are logged only as prefixes');
  });
});

describe('phone calling-code rules', () => {
  const live = liveGate({
    runtime: 'miniflare',
    worker: {
      bindings: {
        POLICY: testPolicy({
          rules: `
[[rules]]
name = "otp: +86 only"
routes = ["/api/otp/send"]
not = { phone_code = ["86"] }
action = "deny"

[[rules]]
name = "no codes to premium-rate or shared-cost numbers"
routes = ["/api/otp/send"]
when = { phone_type = ["premium_rate", "shared_cost"] }
action = "deny"

[[rules]]
name = "satellite numbers pay more"
when = { phone_code = ["881", "882"] }
action = "challenge"
difficulty = 16
`,
        }),
      },
    },
  });
  const browser = client(() => live.gate);

  it('allows only +86 on the OTP route, in form and JSON bodies', async () => {
    const cases = [
      ['form +86', { fields: { phone: '+86 138 0013 8000' } }, true],
      ['form 0086', { fields: { phone: '0086-13800138000' } }, true],
      ['form +1', { fields: { phone: '+1 202 555 0143' } }, false],
      ['form, no phone', { fields: { email: 'a@example.com' } }, false],
      ['json +86', { json: true, fields: { phone: '+8613800138000' } }, true],
      ['json +44', { json: true, fields: { phone: '+44 20 7946 0000' } }, false],
      // +86, but numbers that earn whoever runs the range: the type is read from the whole number
      ['form +86 premium rate', { fields: { phone: '+86 1681 2345' } }, false],
      ['json +86 shared cost', { json: true, fields: { phone: '+86 400 123 4567' } }, false],
    ];
    for (const [name, opts, ok] of cases) {
      const r = await browser.signUp('/api/otp/send', opts);
      assert.equal(r.issue.status, 200, `${name}: the code is not known when the challenge is fetched`);
      if (ok) {
        assert.ok(forwarded(r), `${name}: ${r.text}`);
      } else {
        assert.equal(r.status, 403, `${name}: ${r.text}`);
        assert.equal(r.json.error, 'denied', name);
      }
    }
    const recs = await live.origin.posts('/api/otp/send');
    assert.equal(recs.length, 3);
    assert.ok(recs.every((x) => x.verdict.valid));
    const denied = await live.gate.waitForLog((l) => l.code === 'denied' && l.phone_code === '44');
    assert.equal(denied.rule, 'otp: +86 only');
    const premium = await live.gate.waitForLog((l) => l.code === 'denied' && l.phone_type === 'premium_rate');
    assert.equal(premium.rule, 'no codes to premium-rate or shared-cost numbers');
    assert.equal(premium.phone_code, '86');
    assert.ok(!JSON.stringify(live.gate.logs()).includes('7946'), 'only the calling code is logged, never the number');
  });

  it('refuses at issue time when the widget already sends the code', async () => {
    const c = await browser.challenge('/api/otp/send', { phone: '+44' });
    assert.equal(c.status, 403);
    assert.equal(c.json.error, 'denied');
    const ok = await browser.challenge('/api/otp/send', { phone: '+86' });
    assert.equal(ok.status, 200);
    assert.equal(ok.json.phone_code, '86');
    assert.equal(ok.json.phone_field, 'phone');
  });

  it('prices a listed calling code higher, on form and JSON sign-ups', async () => {
    // fetched without the code, the base-price work falls short once the form names the code
    const cheap = await browser.signUp('/signup', { fields: { email: 'x@example.com', phone: '+881 6 1234 5678' } });
    assert.equal(cheap.issue.json.difficulty, 12);
    assert.equal(cheap.status, 402, cheap.text);
    assert.equal(cheap.json.error, 'more_work');
    assert.equal(cheap.json.work.asked, cheap.issue.json.k * 2 ** 16, 'the listed code\'s price, in expected hashes');
    for (const json of [false, true]) {
      const r = await browser.signUp('/signup', { phone: '+881', json, fields: { email: 'x@example.com', phone: '+881 6 1234 5678' } });
      assert.equal(r.issue.json.difficulty, 16, 'priced by the code the widget sent');
      assert.ok(forwarded(r), r.text);
    }
    // other codes pay the base price
    const r = await browser.signUp('/signup', { fields: { email: 'y@example.com', phone: '+49 30 1234567' } });
    assert.equal(r.issue.json.difficulty, 12);
    assert.ok(forwarded(r), r.text);
    assert.equal((await live.origin.posts('/signup')).length, 3);
  });
});

describe('panic switch, registration busy page, shadow mode', () => {
  const adminToken = randomSecret();
  const live = liveGate({ runtime: 'miniflare', worker: null });
  // several counter shards: a site-wide switch must reach every one (the suite's one GATE_SECRET,
  // so a challenge solved before the switch stays valid)
  const start = (policy, extra = {}) => live.startWorker({ bindings: { ADMIN_TOKEN: adminToken, POLICY: policy, COHORT_SHARDS: '4', ...extra } });

  it('the policy panic switch sheds every sign-up but no login, with a translated page', async () => {
    // a challenge solved before the switch was thrown
    const before = await start(testPolicy());
    const solution = await client(before).solve(await client(before).challenge());
    await before.stop();

    const edge = await start(testPolicy({ attack: 'enabled = true\npanic = true\nretry_after_secs = 90' }));
    try {
      const browser = client(edge);
      const c = await browser.challenge();
      assert.equal(c.status, 503);
      assert.equal(c.json.error, 'busy');
      assert.equal(c.headers.get('retry-after'), '90');
      // a person submitting the form gets the page, in their language; an API client JSON
      const page = await browser.submit('/signup', solution, {
        extra: { Accept: 'text/html,application/xhtml+xml', 'Accept-Language': 'zh-CN,zh;q=0.9' },
      });
      assert.equal(page.status, 503);
      assert.equal(page.headers.get('retry-after'), '90');
      assert.match(page.headers.get('content-type'), /text\/html/);
      assert.match(page.text, /<html lang="zh-CN"/);
      assert.match(page.text, /注册繁忙/);
      assert.match(page.text, /登录不受影响/);
      const api = await browser.submit('/signup', solution, { json: true });
      assert.equal(api.status, 503);
      assert.equal(api.json.error, 'busy');
      const login = await browser.login();
      assert.equal(login.status, 303);
      const other = await client(edge, { cf: QUIET }).get('/account');
      assert.equal(other.status, 200);
      assert.deepEqual((await live.origin.records()).map((x) => `${x.method} ${x.path}`), ['POST /login', 'GET /account']);
    } finally {
      await edge.stop();
    }
  });

  it('the run-time panic switch sheds a cohort or the site, and is turned off again', async () => {
    const edge = await start(testPolicy({ attack: 'enabled = true' }));
    try {
      const spiker = client(edge, { cf: SPIKER });
      const quiet = client(edge, { cf: QUIET });
      const panic = (body, token = adminToken) => spiker.post('/__gate/panic', JSON.stringify(body), { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' });
      assert.equal((await panic({ scope: 'site', on: true }, 'wrong')).status, 401);
      assert.equal((await spiker.post('/__gate/panic', '{"scope":"site","on":true}')).status, 401);
      assert.equal((await panic({ scope: 'planet:earth', on: true })).json.error, 'bad_scope');
      assert.equal((await spiker.get('/__gate/panic')).status, 405);

      const on = await panic({ scope: 'asn:64500', on: true, minutes: 5 });
      assert.equal(on.status, 200, on.text);
      assert.equal(on.json.scope, 'asn:64500');
      assert.equal((await spiker.challenge()).status, 503);
      assert.ok(forwarded(await quiet.signUp()), 'other networks are not affected');

      assert.equal((await panic({ scope: 'site', on: true })).status, 200);
      assert.equal((await quiet.challenge()).status, 503);
      assert.equal((await quiet.login()).status, 303);

      await panic({ scope: 'site', on: false });
      await panic({ scope: 'asn:64500', on: false });
      assert.ok(forwarded(await spiker.signUp()));
      assert.ok(forwarded(await quiet.signUp()));
      assert.equal((await live.origin.posts('/signup')).length, 3);
      assert.equal((await live.origin.posts('/login')).length, 1);
      const logged = await edge.waitForLog((l) => l.gate === 'panic' && l.scope === 'site' && l.on === true);
      assert.ok(logged);
      assert.ok(!JSON.stringify(edge.logs()).includes(adminToken));
    } finally {
      await edge.stop();
    }
  });

  it('shadow mode forwards and logs what would have happened; replay shows a change', async () => {
    const rules = `
[[rules]]
name = "no DE"
when = { country = ["DE"] }
action = "deny"
`;
    const shadowRule = rules.replace('action = "deny"', 'action = "deny"\nshadow = true');
    for (const [name, policy] of [
      ['global', testPolicy({ shadow: true, rules })],
      ['per rule', testPolicy({ rules: shadowRule })],
    ]) {
      await live.origin.reset();
      const edge = await start(policy);
      try {
        const r = await client(edge).signUp();
        assert.equal(r.issue.json.difficulty, 12, name);
        assert.ok(forwarded(r), `${name}: ${r.text}`);
        assert.equal((await live.origin.posts('/signup')).length, 1, name);
        const line = await edge.waitForLog((l) => l.action === 'forward' && l.shadow);
        assert.ok(line, `${name}: the shadow decision is logged`);
        assert.match(line.shadow, /^deny \(rule "no DE"\)$/);
        assert.equal(line.outcome, 'price 12x8');

        // the same log lines, replayed against the policy with the rule enforced
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gate-replay-'));
        fs.writeFileSync(path.join(dir, 'decisions.jsonl'), edge.logs().map((l) => JSON.stringify(l)).join('\n'));
        fs.writeFileSync(path.join(dir, 'enforced.toml'), testPolicyToml({ rules }));
        const out = await gateCli('replay', path.join(dir, 'enforced.toml'), path.join(dir, 'decisions.jsonl'));
        fs.rmSync(dir, { recursive: true });
        assert.match(out, /POST \/signup asn=3320 country=DE: price 12x8 -> deny \(rule "no DE"\)/);
        assert.match(out, /2 policy decisions replayed, 2 would change/);
      } finally {
        await edge.stop();
      }
    }
  });
});

describe('siteverify for origins not behind the Worker', () => {
  const siteSecret = randomSecret();
  const live = liveGate({ runtime: 'miniflare', reset: false, worker: { bindings: { SITEVERIFY_SECRET: siteSecret, POLICY: testPolicy() } } });
  const browser = client(() => live.gate);

  /** The origin's server calling siteverify (no browser headers, another network). */
  const verify = async (fields, json = false) => {
    const body = json ? JSON.stringify(fields) : new URLSearchParams(fields).toString();
    const r = await live.gate.mf.dispatchFetch(`${HOST}/__gate/siteverify`, {
      method: 'POST',
      headers: { 'Content-Type': json ? 'application/json' : 'application/x-www-form-urlencoded', 'User-Agent': 'origin-backend/1.0' },
      body,
    });
    assert.equal(r.status, 200);
    return r.json();
  };
  const fresh = async () => browser.solve(await browser.challenge('/signup'));

  it('accepts a valid solution once, in the Turnstile shape', async () => {
    const response = await fresh();
    const ok = await verify({ secret: siteSecret, response, remoteip: '198.51.100.7' });
    assert.deepEqual(Object.keys(ok).sort(), ['action', 'challenge_ts', 'error-codes', 'hostname', 'success']);
    assert.equal(ok.success, true);
    assert.deepEqual(ok['error-codes'], []);
    assert.equal(ok.action, '/signup');
    assert.equal(ok.hostname, 'signup.example');
    assert.ok(Math.abs(Date.parse(ok.challenge_ts) - Date.now()) < 60_000, ok.challenge_ts);
    const again = await verify({ secret: siteSecret, response });
    assert.deepEqual(again, { success: false, 'error-codes': ['timeout-or-duplicate'] });
    // single use is shared with the gate's own ledger
    const through = await browser.submit('/signup', response);
    assert.equal(through.status, 409);
    assert.equal(through.json.error, 'already_spent');
  });

  it('a solution already used at the gate is refused, JSON bodies work', async () => {
    const response = await fresh();
    assert.ok(forwarded(await browser.submit('/signup', response)));
    assert.deepEqual(await verify({ secret: siteSecret, response }, true), { success: false, 'error-codes': ['timeout-or-duplicate'] });
    assert.equal((await verify({ secret: siteSecret, response: await fresh() }, true)).success, true);
  });

  it('an idempotency_key lets the origin retry the same verification', async () => {
    const response = await fresh();
    const key = '5e1b3a4c-0b7d-4a0a-9c55-1d2f3e4a5b6c';
    assert.equal((await verify({ secret: siteSecret, response, idempotency_key: key })).success, true);
    assert.equal((await verify({ secret: siteSecret, response, idempotency_key: key })).success, true, 'a retry with the same key');
    assert.deepEqual((await verify({ secret: siteSecret, response, idempotency_key: 'another' }))['error-codes'], ['timeout-or-duplicate']);
    assert.deepEqual((await verify({ secret: siteSecret, response }))['error-codes'], ['timeout-or-duplicate']);
  });

  it('rejects forgeries, tampering and wrong or missing secrets', async () => {
    const response = await fresh();
    assert.deepEqual(await verify({ secret: randomSecret(), response }), { success: false, 'error-codes': ['invalid-input-secret'] });
    assert.deepEqual(await verify({ response }), { success: false, 'error-codes': ['missing-input-secret'] });
    assert.deepEqual(await verify({ secret: siteSecret }), { success: false, 'error-codes': ['missing-input-response'] });
    assert.deepEqual(await verify({ secret: siteSecret, response: 'garbage' }), { success: false, 'error-codes': ['invalid-input-response'] });
    // a challenge signed with another key, solved honestly
    const c = await browser.challenge('/signup');
    const forged = mintToken({ ...parseToken(unb64(c.json.token)) }, randomSecret());
    const forgedSolution = await gateCli('solve', '--token', forged.toString('base64url'), '--signals', JSON.stringify(SIGNALS));
    assert.deepEqual(await verify({ secret: siteSecret, response: forgedSolution }), { success: false, 'error-codes': ['invalid-input-response'] });
    // one sub-puzzle's nonce swapped for one that does not meet the difficulty
    const [tok, nb] = response.split('.');
    const token = unb64(tok);
    const nonces = [];
    for (let i = 0; i < unb64(nb).length; i += 8) nonces.push(unb64(nb).readBigUInt64BE(i));
    nonces[0] = lazyNonce(token, 0, JSON.stringify(SIGNALS));
    const tampered = solutionString(token, nonces, JSON.stringify(SIGNALS));
    assert.deepEqual(await verify({ secret: siteSecret, response: tampered }), { success: false, 'error-codes': ['invalid-input-response'] });
    // the honest solution was never spent by the failed attempts
    assert.equal((await verify({ secret: siteSecret, response })).success, true);
    assert.ok(!JSON.stringify(live.gate.logs()).includes(siteSecret));
  });
});

describe('vars written in wrangler.toml as a table or a number', () => {
  const statsToken = randomSecret();
  // wrangler hands non-string [vars] to the Worker as JSON values, as these bindings are
  const live = liveGate({ runtime: 'miniflare', worker: { bindings: { STATS_TOKEN: statsToken, POLICY: JSON.parse(testPolicy({ k: 6 })), CHALLENGE_TTL: 60 } } });

  it('[vars.POLICY] as a table and CHALLENGE_TTL = 60 are read, not mistaken for unset', async () => {
    const browser = client(live.gate);
    const c = await browser.challenge();
    assert.equal(c.status, 200);
    const t = parseToken(unb64(c.json.token));
    assert.equal(t.k, 6, 'the table policy, not the bundled k = 32');
    assert.equal(t.expiresAt - t.issuedAt, 60, 'the numeric TTL, not the default 300');
    const stats = (await browser.get('/__gate/stats', { Authorization: `Bearer ${statsToken}` })).json;
    assert.equal(stats.policy.ok, true);
    assert.match(stats.policy.source, /^POLICY var, sha256 [0-9a-f]{16}$/);
    const r = await browser.submit('/signup', await browser.solve(c));
    assert.equal(r.status, 201, 'the demo origin created the account');
    assert.equal((await live.origin.records()).filter((x) => x.path === '/signup').length, 1);
  });
});

describe('a broken policy keeps sign-ups closed', () => {
  const statsToken = randomSecret();
  const live = liveGate({ runtime: 'miniflare', worker: null });
  const start = (policy) => live.startWorker({ bindings: { STATS_TOKEN: statsToken, POLICY: policy } });

  it('an invalid POLICY closes its protected routes (503) and stats lists every problem', async () => {
    const policy = fs.readFileSync(path.join(ROOT, 'tests/data/policy/bad/everything-wrong.toml'), 'utf8')
      .replace(/protected = \[[^\]]*\]/, 'protected = ["POST /signup"]')
      .replace(/pass = \[[^\]]*\]/, 'pass = ["POST /login"]');
    const edge = await start(policyJson(policy));
    try {
      const browser = client(edge);
      const r = await browser.submit('/signup', 'anything');
      assert.equal(r.status, 503);
      assert.equal(r.json.error, 'misconfigured');
      assert.equal((await browser.challenge()).status, 503);
      assert.equal((await browser.login()).status, 303);
      assert.deepEqual((await live.origin.records()).map((x) => x.path), ['/login']);
      const stats = (await browser.get('/__gate/stats', { Authorization: `Bearer ${statsToken}` })).json;
      assert.equal(stats.policy.ok, false);
      const problems = stats.policy.problems.join('\n');
      assert.match(problems, /defaults\.difficulty: 40 is outside 1\.\.=32/);
      assert.match(problems, /rules\[1\] "twice"\.action: "block" is not one of allow, challenge, deny, busy/);
    } finally {
      await edge.stop();
    }
  });

  it('a policy that cannot even be read closes every non-read request', async () => {
    for (const [name, policy, problem] of [
      ['broken JSON', '{"version": 1, "routes": {"protected": ["POST /signup"]', /line 1, column \d+: EOF while parsing an object/],
      // valid TOML, but the Worker reads JSON only: told how to convert, never half-read
      ['TOML', testPolicyToml(), /file: is not JSON: .*`gate policy json FILE`/],
    ]) {
      const edge = await start(policy);
      try {
        live.origin.reset();
        const browser = client(edge);
        assert.equal((await browser.submit('/signup', 'anything')).status, 503, name);
        assert.equal((await browser.submit('/any/form', 'anything')).status, 503, name);
        assert.equal((await browser.login()).status, 503, `${name}: without routes, logins cannot be told apart`);
        assert.equal((await browser.get('/account')).status, 200, `${name}: reads still pass`);
        assert.deepEqual((await live.origin.records()).map((x) => x.path), ['/account'], name);
        const stats = (await browser.get('/__gate/stats', { Authorization: `Bearer ${statsToken}` })).json;
        assert.equal(stats.policy.ok, false, name);
        assert.match(stats.policy.problems.join('\n'), problem, name);
      } finally {
        await edge.stop();
      }
    }
  });
});

describe('an invalid policy file never deploys', () => {
  it('wrangler dev refuses to start and lists every problem', async () => {
    const bad = 'tests/data/policy/bad/everything-wrong.toml';
    const result = await new Promise((resolve) => {
      execFile(path.join(ROOT, 'node_modules/.bin/wrangler'), ['dev', '--local', '--ip', '127.0.0.1', '--port', '0', '--show-interactive-dev-session=false'], {
        cwd: ROOT, env: { ...env, POLICY_FILE: bad }, timeout: 300_000, maxBuffer: 1 << 24,
      }, (error, stdout, stderr) => resolve({ code: error?.code, out: `${stdout}${stderr}` }));
    });
    assert.equal(result.code, 1, result.out.slice(-2000));
    assert.match(result.out, /Running custom build `bash scripts\/build-worker` failed/);
    const expected = fs.readFileSync(path.join(ROOT, bad.replace('.toml', '.errors')), 'utf8').trim().split('\n');
    for (const line of expected) assert.ok(result.out.includes(line.replaceAll('"', '\\"')) || result.out.includes(line), `missing: ${line}`);
    assert.match(result.out, /the Worker was not built/);
  });
});
