// Attack mode at scale (docs/attack-mode.md § Attack mode at scale), end to end in Miniflare with
// per-request `cf`, the real objects and the real demo origin: challenges read the isolate's
// snapshot (no object call per challenge), a spiking network is escalated then shed while
// another signs up at the base price, the counters survive a runtime restart mid-spike, a
// counter binding that fails keeps the spiking cohort shed, and a panic switch written by
// another isolate reaches sign-ups within the staleness bound.
//
// With a capacity stated for the route, a spike above it is held near capacity (the origin's
// own record counts what got through) while a small cohort keeps the base price.
//
// The COHORTS binding goes through tests/e2e/fixtures/flaky-cohorts.mjs, which forwards to the
// gate's real Cohorts objects until told to fail.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { liveGate, testPolicy, randomSecret } from './harness.mjs';
import { HOST, SPIKER, QUIET, chromeClient } from './clients.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** The staleness bound docs/attack-mode.md documents (2 s), plus a round trip's margin. */
const BOUND_MS = 2500;

/** The tests' policy with attack mode on per ASN over a minute, and these [attack] lines. */
const perAsnPolicy = (...attack) => testPolicy({ attack: ['enabled = true', 'window_secs = 60', 'cohorts = ["asn"]', ...attack].join('\n') });

describe('attack mode at scale', () => {
  const statsToken = randomSecret();
  const policy = perAsnPolicy('levels = [{ at = 3, extra_bits = 2 }, { at = 6, busy = true }]', 'retry_after_secs = 30');
  const live = liveGate({ runtime: 'miniflare', reset: false, persist: true, worker: { flakyCohorts: true, bindings: { STATS_TOKEN: statsToken, POLICY: policy } } });
  const edge = () => live.gate;
  const spiker = chromeClient(edge, { cf: SPIKER, ip: '203.0.113.10' });
  const quiet = chromeClient(edge, { cf: QUIET, ip: '192.0.2.20' });
  const stats = async () => {
    const r = await live.gate.mf.dispatchFetch(`${HOST}/__gate/stats`, { headers: { Authorization: `Bearer ${statsToken}` } });
    assert.equal(r.status, 200);
    return r.json();
  };
  const flaky = async (broken) => {
    const w = await live.gate.mf.getWorker('flaky');
    const r = await w.fetch(`http://flaky/?broken=${broken ? 1 : 0}`);
    assert.equal(await r.text(), broken ? 'broken' : 'working');
  };

  it('a challenge flood from one network makes no object call per challenge', async () => {
    assert.equal((await spiker.challenge()).status, 200); // the isolate's cold start
    const before = (await stats()).health.calls;
    const start = Date.now();
    const n = 300;
    for (let i = 0; i < n; i++) assert.equal((await spiker.challenge()).status, 200);
    const secs = (Date.now() - start) / 1000;
    const after = (await stats()).health.calls;
    assert.equal(after.request_path, before.request_path, 'no challenge waited for an object');
    // background refreshes: the asn key's shard and the site key's, at most once a second each
    // (plus the stats page's own flush), however many challenges
    const background = after.background - before.background;
    assert.ok(background <= 2 * (Math.ceil(secs) + 2), `${background} background calls for ${n} challenges in ${secs.toFixed(1)} s`);
    assert.ok(after.decisions - before.decisions >= n);
  });

  it('a spiking network is escalated, then shed, while another signs up at the base price', async () => {
    const seen = [];
    for (let i = 0; i < 12; i++) {
      const r = await spiker.signUp();
      seen.push(r.issue.status === 503 ? 'busy' : r.issue.json.difficulty);
      if (r.issue.status === 503) break;
    }
    assert.ok(seen.includes(14), `escalated first: ${seen}`);
    assert.equal(seen.at(-1), 'busy', `then shed: ${seen}`);
    const other = await quiet.signUp();
    assert.equal(other.issue.json.difficulty, 12);
    assert.equal(other.status, 201, other.text);
  });

  it('the counters survive a runtime restart mid-spike', async () => {
    const flushed = await stats(); // flushes this isolate's batch
    assert.equal(flushed.health.errors, 0, JSON.stringify(flushed.health));
    await sleep(1500); // the shard persists what a busy second left dirty (alarm)
    await live.restart();
    const r = await spiker.challenge();
    assert.equal(r.status, 503, `still shed after the restart: ${JSON.stringify((await stats()).health)} ${r.text}`);
    assert.equal(r.json.error, 'busy');
    assert.equal((await quiet.challenge()).json.difficulty, 12);
  });

  it('a counter object that fails keeps the spiking cohort shed', async () => {
    await flaky(true);
    try {
      const start = Date.now();
      let health;
      // past the staleness bound every refresh has failed at least once
      while (Date.now() - start < BOUND_MS + 1000) {
        assert.equal((await spiker.challenge()).status, 503, 'never the base price');
        await sleep(200);
      }
      health = (await stats()).health;
      assert.equal(health.condition, 'degraded', JSON.stringify(health));
      assert.ok(health.errors >= 1 && health.held_decisions >= 1, JSON.stringify(health));
      const busy = await spiker.challenge();
      assert.equal(busy.status, 503);
      assert.equal((await quiet.challenge()).json.difficulty, 12, 'the quiet network is not shed');
    } finally {
      await flaky(false);
    }
  });

  it('a panic switch set elsewhere reaches sign-ups within the bound', async () => {
    assert.equal((await quiet.challenge()).status, 200);
    // written straight into every counter shard, as another isolate's POST /__gate/panic does
    const ns = await live.gate.mf.getDurableObjectNamespace('COHORTS');
    const until_ms = Date.now() + 60_000;
    await Promise.all(Array.from({ length: 64 }, (_, i) =>
      ns.get(ns.idFromName(`cohorts-${i}`)).fetch('https://cohorts.internal/panic', { method: 'POST', body: JSON.stringify({ key: 'site', until_ms }) })));
    const set = Date.now();
    let r;
    while (Date.now() - set < BOUND_MS + 2000) {
      r = await quiet.challenge();
      if (r.status === 503) break;
      await sleep(100);
    }
    const took = Date.now() - set;
    assert.equal(r.status, 503, r.text);
    assert.match(r.text, /busy/);
    assert.ok(took <= BOUND_MS, `seen after ${took} ms`);
  });
});

describe('capacity-driven pricing', () => {
  const statsToken = randomSecret();
  // 120 sign-ups a minute; prices move every 2 s; a cohort past 3 extra bits is shed; the
  // static levels are out of reach, so only the controller prices
  const CAPACITY = 120;
  const policy = perAsnPolicy(
    'levels = [{ at = 100000, busy = true }]',
    '[[attack.capacity]]',
    'route = "/signup"',
    `signups_per_minute = ${CAPACITY}`,
    'ceiling_bits = 3',
    'period_secs = 2',
  );
  const live = liveGate({ runtime: 'miniflare', reset: false, worker: { bindings: { STATS_TOKEN: statsToken, POLICY: policy } } });
  const edge = () => live.gate;
  const spiker = chromeClient(edge, { cf: SPIKER, ip: '203.0.113.10' });
  const quiet = chromeClient(edge, { cf: QUIET, ip: '192.0.2.20' });

  it('holds a spike near capacity while a small cohort keeps the base price', async () => {
    const calm = await quiet.signUp();
    assert.equal(calm.status, 201, `a calm start: ${calm.issue.text} ${calm.text}`);
    // the spike: one network signing up as fast as one solver can (several times capacity)
    const seen = [];
    const start = Date.now();
    let shedAt = null;
    while (Date.now() - start < 30_000) {
      const r = await spiker.signUp();
      seen.push(r.issue.status === 503 ? 'busy' : r.issue.json.difficulty);
      if (r.issue.status === 503 && shedAt === null) shedAt = Date.now();
      if (shedAt !== null) break;
    }
    assert.ok(shedAt !== null, `the spiking network is priced up, then shed at the ceiling: ${seen}`);
    assert.ok(seen.some((d) => typeof d === 'number' && d > 12) || seen.at(-1) === 'busy', `${seen}`);
    // held: over the next 12 s the spike keeps trying while the quiet network signs up once
    // every 4 s (15 a minute: a small cohort)
    await live.origin.reset();
    const from = Date.now();
    let quietOk = 0;
    let nextQuiet = from;
    while (Date.now() - from < 12_000) {
      if (Date.now() >= nextQuiet) {
        nextQuiet += 4000;
        const q = await quiet.signUp();
        assert.equal(q.issue.json?.difficulty, 12, `the small cohort pays the base price: ${q.issue.text}`);
        assert.equal(q.status, 201, q.text);
        quietOk++;
      } else {
        await spiker.signUp();
      }
    }
    const secs = (Date.now() - from) / 1000;
    const records = (await live.origin.records()).filter((r) => r.path === '/signup' && r.verdict?.valid);
    // what the origin received, against what it can take in that time (the quiet network's
    // sign-ups included), with one period's worth of slack
    const allowed = CAPACITY * (secs + 2) / 60;
    assert.ok(records.length <= allowed + 1, `${records.length} sign-ups reached the origin in ${secs.toFixed(1)} s; capacity allows ${allowed.toFixed(1)}`);
    assert.ok(quietOk >= 2 && records.length >= quietOk, `${quietOk} quiet sign-ups, ${records.length} records`);
    const r = await live.gate.mf.dispatchFetch(`${HOST}/__gate/stats`, { headers: { Authorization: `Bearer ${statsToken}` } });
    const cap = (await r.json()).capacity;
    assert.equal(cap.length, 1, JSON.stringify(cap));
    assert.equal(cap[0].route, '/signup');
    assert.equal(cap[0].per_minute, CAPACITY);
    const raised = cap[0].raised.find((c) => c.cohort === 'asn:64500');
    assert.ok(raised && (raised.shed || raised.extra_bits >= 1), JSON.stringify(cap));
    assert.ok(!cap[0].raised.some((c) => c.cohort === 'asn:3209'), JSON.stringify(cap));
  });
});
