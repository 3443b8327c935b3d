// Fingerprint checks end to end with a per-request `request.cf`: the built Worker runs in
// workerd through Miniflare's dispatchFetch (the engine under wrangler dev), with the real
// ledger Durable Object and the real demo origin, so ASN, country, time zone, TCP round trip
// and Bot Management can differ on every request.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { liveGate, testPolicy, gateCli } from './harness.mjs';
import { UA, HOST, CHROME, SIGNALS, CF, stampedSignals } from './clients.mjs';

describe('fingerprint checks with per-request request.cf (Miniflare)', () => {
  // the fingerprint's own pricing: no rules, no attack mode
  const live = liveGate({ runtime: 'miniflare', worker: { bindings: { POLICY: testPolicy() } } });

  /** A challenge asked with `signals` after the widget's ping chain (`stamp: false`: none;
   * `holdMs`: each echo held that long, as a relay's detour would). */
  const challenge = async ({ cf = CF, signals = SIGNALS, headers = {}, stamp = true, holdMs = 0 } = {}) => {
    const h = { ...CHROME.common, ...CHROME.fetch, ...headers };
    const text = !signals ? '' : stamp
      ? await stampedSignals((u, i) => live.gate.mf.dispatchFetch(u, i), { headers: h, cf, signals, holdMs })
      : JSON.stringify(signals);
    const q = new URLSearchParams({ route: '/signup' });
    if (text) q.set('signals', Buffer.from(text).toString('base64url'));
    const r = await live.gate.mf.dispatchFetch(`${HOST}/__gate/challenge?${q}`, { headers: h, cf });
    return { status: r.status, body: await r.json(), signals: text };
  };

  /** Fetches a challenge and posts the solved sign-up with the same client, cf per phase. */
  async function signUp({ cf = CF, submitCf = cf, signals = SIGNALS, headers = {}, stamp = true, holdMs = 0 } = {}) {
    const c = await challenge({ cf, signals, headers, stamp, holdMs });
    if (c.status !== 200) return { issue: c };
    const signalText = c.signals;
    const solution = await gateCli('solve', '--token', c.body.token, '--signals', signalText);
    const r = await live.gate.mf.dispatchFetch(`${HOST}/signup`, {
      method: 'POST',
      headers: { ...CHROME.common, ...CHROME.submit, ...headers },
      body: `email=a%40example.com&gate-solution=${encodeURIComponent(solution)}`,
      cf: submitCf,
    });
    const text = await r.text();
    const recs = await live.origin.posts();
    return { issue: c, status: r.status, body: text, record: recs.at(-1), records: recs.length };
  }

  it('a consistent browser on a residential network pays the base price and scores 0', async () => {
    const r = await signUp();
    assert.equal(r.issue.body.difficulty, 12);
    assert.equal(r.issue.body.risk, 0);
    assert.equal(r.status, 201, r.body);
    assert.equal(r.records, 1);
    assert.equal(r.record.verdict.valid, true);
    assert.equal(r.record.verdict.score, 0);
    assert.deepEqual(r.record.verdict.reasons, []);
  });

  it('a hosting ASN is named; alone it leaves the price, with another sign it raises it', async () => {
    const aws = { ...CF, asn: 16509, asOrganization: 'Amazon.com, Inc.' };
    const vpn = await signUp({ cf: aws });
    assert.equal(vpn.issue.body.risk, 25, 'a VPN user is one of many: below risk.more_work_at');
    assert.equal(vpn.issue.body.difficulty, 12);
    assert.equal(vpn.status, 201, vpn.body);
    assert.deepEqual(vpn.record.verdict.reasons, ['hosting_asn']);
    // the exit's location is not a second sign (a VPN abroad): another time zone adds nothing
    const abroad = await signUp({ cf: { ...aws, timezone: 'America/New_York', country: 'US' } });
    assert.equal(abroad.issue.body.risk, 25);
    assert.deepEqual(abroad.record.verdict.reasons, ['hosting_asn']);
    const r = await signUp({ cf: { ...aws, httpProtocol: 'HTTP/1.1' } });
    assert.deepEqual([...r.record.verdict.reasons].sort(), ['hosting_asn', 'http1_browser']);
    assert.equal(r.issue.body.risk, 30);
    assert.equal(r.issue.body.difficulty, 13, 'one extra bit doubles the work');
    assert.equal(r.status, 201, r.body);
  });

  it('a browser time zone on another continent than the network is named', async () => {
    const r = await signUp({ cf: { ...CF, timezone: 'America/New_York', country: 'US' } });
    assert.ok(r.record.verdict.reasons.includes('tz_mismatch'), r.record.verdict.reasons);
    const near = await signUp({ cf: { ...CF, timezone: 'Europe/Paris', country: 'FR' } });
    assert.ok(near.record.verdict.reasons.includes('tz_region_differs'));
    assert.ok(!near.record.verdict.reasons.includes('tz_mismatch'));
  });

  it('languages foreign to the country are a weak signal, English is not', async () => {
    const jp = await signUp({ cf: { ...CF, country: 'JP', timezone: 'Asia/Tokyo' }, signals: { ...SIGNALS, timeZone: 'Asia/Tokyo', languages: ['de-DE', 'de'] } });
    assert.ok(jp.record.verdict.reasons.includes('lang_country'), jp.record.verdict.reasons);
    const en = await signUp({ cf: { ...CF, country: 'JP', timezone: 'Asia/Tokyo' }, signals: { ...SIGNALS, timeZone: 'Asia/Tokyo', languages: ['de-DE', 'en'] } });
    assert.ok(!en.record.verdict.reasons.includes('lang_country'));
  });

  it('a round trip the gate measures far above the TCP round trip suggests a relay; a reported one is not read', async () => {
    // the echo held 480 ms (a proxy's detour) while the page reports a short round trip
    const relay = await signUp({ cf: { ...CF, clientTcpRtt: 15 }, signals: { ...SIGNALS, rtt: 30 }, holdMs: 480 });
    assert.ok(relay.record.verdict.reasons.includes('rtt_gap'), relay.record.verdict.reasons);
    const far = await signUp({ cf: { ...CF, clientTcpRtt: 160 }, holdMs: 480 });
    assert.ok(!far.record.verdict.reasons.includes('rtt_gap'), 'a slow but direct connection is fine');
    // signals without the stamp cost as much as a gap
    const bare = await signUp({ stamp: false });
    assert.deepEqual(bare.record.verdict.reasons, ['rtt_unmeasured']);
    // a stamp measured from another address (a fast path) does not count for a proxy's exit
    const elsewhere = await stampedSignals((u, i) => live.gate.mf.dispatchFetch(u, i), {
      headers: { ...CHROME.common, ...CHROME.fetch, 'CF-Connecting-IP': '192.0.2.9' },
    });
    const q = new URLSearchParams({ route: '/signup', signals: Buffer.from(elsewhere).toString('base64url') });
    const r = await live.gate.mf.dispatchFetch(`${HOST}/__gate/challenge?${q}`, { headers: { ...CHROME.common, ...CHROME.fetch, 'CF-Connecting-IP': '198.51.100.7' }, cf: CF });
    assert.equal((await r.json()).risk, 20, 'rtt_unmeasured');
  });

  it('Bot Management fields count when the zone has them', async () => {
    const low = await signUp({ cf: { ...CF, botManagement: { score: 15, verifiedBot: false } } });
    assert.ok(low.record.verdict.reasons.includes('bot_score_low'));
    const verified = await challenge({ cf: { ...CF, botManagement: { score: 99, verifiedBot: true } } });
    assert.ok(verified.body.risk >= 50);
  });

  it('HTTP/1.0, old TLS and automation user agents are refused before any work', async () => {
    for (const [name, opts] of [
      ['curl', { headers: { 'User-Agent': 'curl/8.5.0' }, signals: null }],
      ['headless', { headers: { 'User-Agent': UA.replace('Chrome/', 'HeadlessChrome/') } }],
      ['http/1.0 + old tls + webdriver', { cf: { ...CF, httpProtocol: 'HTTP/1.0', tlsVersion: 'TLSv1.1' }, signals: { ...SIGNALS, webdriver: true } }],
    ]) {
      const r = await challenge(opts);
      assert.equal(r.status, 403, name);
      assert.equal(r.body.error, 'denied', name);
    }
    assert.deepEqual(await live.origin.records(), []);
  });

  it('a client whose risk rises between challenge and sign-up must pay again', async () => {
    const r = await signUp({ submitCf: { ...CF, botManagement: { score: 3, verifiedBot: false } } });
    assert.equal(r.status, 402, r.body);
    const body = JSON.parse(r.body);
    assert.equal(body.error, 'more_work');
    assert.ok(body.work.asked > body.work.paid && body.topup, r.body);
    assert.equal(r.records, 0);
  });

  it('a browser User-Agent posting without the widget signals is scored up', async () => {
    const r = await signUp({ signals: null });
    // the challenge request (a GET) is not charged for them; the sign-up is scored, and its
    // score stays within the one extra bit the challenge tolerates, so it is forwarded
    assert.equal(r.issue.body.risk, 0, JSON.stringify(r.issue.body));
    assert.equal(r.issue.body.difficulty, 12);
    assert.equal(r.status, 201, r.body);
    assert.equal(r.records, 1);
    assert.ok(r.record.verdict.reasons.includes('signals_missing'), r.record.verdict.reasons);
  });

  it('every decision is logged with its reasons', async () => {
    await new Promise((r) => setTimeout(r, 200));
    const lines = live.gate.logs();
    const denied = lines.filter((l) => l.code === 'denied');
    assert.ok(denied.length >= 3);
    assert.ok(denied.every((l) => l.reasons.length > 0 && typeof l.score === 'number'));
    assert.ok(denied.some((l) => l.reasons.some((r) => r.code === 'ua_automation' && r.detail.includes('curl'))));
    assert.ok(!JSON.stringify(lines).includes('Europe/Berlin"'), 'raw client signals are not logged');
  });
});
