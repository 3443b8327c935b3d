// Fingerprint checks end to end with a per-request `request.cf`: the built Worker runs in
// workerd through Miniflare's dispatchFetch (the engine under wrangler dev), with the real
// ledger Durable Object and the real demo origin, so ASN, country, time zone, TCP round trip
// and Bot Management can differ on every request.
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Miniflare } from 'miniflare';
import { startOrigin, randomSecret, gateCli, ROOT } from './harness.mjs';

const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const HOST = 'https://signup.example';

/** Headers Chrome 131 on Windows sends for the widget's challenge fetch and for a single-page
 * app's fetch() sign-up (Node's fetch under dispatchFetch always sends Sec-Fetch-Mode: cors, so
 * a form navigation cannot be replayed here; the browser suites cover that). */
const CHROME = {
  common: {
    'User-Agent': UA,
    'sec-ch-ua': '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"',
    'sec-ch-ua-mobile': '?0',
    'sec-ch-ua-platform': '"Windows"',
    'Accept-Encoding': 'gzip, deflate, br, zstd',
    'Accept-Language': 'de-DE,de;q=0.9,en;q=0.8',
  },
  fetch: { Accept: '*/*', 'Sec-Fetch-Site': 'same-origin', 'Sec-Fetch-Mode': 'cors', 'Sec-Fetch-Dest': 'empty' },
  submit: {
    Accept: 'application/json',
    'Sec-Fetch-Site': 'same-origin',
    'Sec-Fetch-Mode': 'cors',
    'Sec-Fetch-Dest': 'empty',
    'Content-Type': 'application/x-www-form-urlencoded',
    Origin: HOST,
  },
};

/** What this Chrome's widget would report (consistent with the headers above). */
const SIGNALS = {
  v: 1,
  webdriver: false,
  automation: [],
  softwareRenderer: false,
  outer: [1280, 800],
  screen: [1920, 1080],
  timeZone: 'Europe/Berlin',
  languages: ['de-DE', 'de', 'en'],
  plugins: 5,
  uaData: { brands: [['Google Chrome', '131'], ['Chromium', '131']], mobile: false, platform: 'Windows' },
  cores: 8,
  rtt: 40,
};

/** A residential connection in Berlin over HTTP/2. */
const CF = { asn: 3320, asOrganization: 'Deutsche Telekom AG', country: 'DE', timezone: 'Europe/Berlin', httpProtocol: 'HTTP/2', tlsVersion: 'TLSv1.3', clientTcpRtt: 25, botManagement: { score: 90, verifiedBot: false } };

describe('fingerprint checks with per-request request.cf (Miniflare)', () => {
  const originSecret = randomSecret();
  let origin, mf, logs;

  before(async () => {
    origin = await startOrigin({ originSecret });
    logs = [];
    mf = new Miniflare({
      scriptPath: path.join(ROOT, 'build', 'index.js'),
      modules: true,
      modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
      compatibilityDate: '2026-04-01',
      durableObjects: { LEDGER: { className: 'Ledger', useSQLite: true } },
      bindings: {
        ORIGIN: origin.url,
        GATE_SECRET: randomSecret(),
        ORIGIN_SECRET: originSecret,
        DIFFICULTY: '12',
        SUBPUZZLES: '8',
      },
      handleRuntimeStdio(stdout, stderr) {
        for (const s of [stdout, stderr]) s.on('data', (d) => { for (const l of String(d).split('\n')) if (l.includes('"gate"')) logs.push(l.slice(l.indexOf('{'))); });
      },
    });
    await mf.ready;
  });
  after(async () => { await mf?.dispose(); await origin?.stop(); });
  beforeEach(() => origin.reset());

  const challenge = async ({ cf = CF, signals = SIGNALS, headers = {} } = {}) => {
    const q = new URLSearchParams({ route: '/signup' });
    if (signals) q.set('signals', Buffer.from(JSON.stringify(signals)).toString('base64url'));
    const r = await mf.dispatchFetch(`${HOST}/__gate/challenge?${q}`, { headers: { ...CHROME.common, ...CHROME.fetch, ...headers }, cf });
    return { status: r.status, body: await r.json() };
  };

  /** Fetches a challenge and posts the solved sign-up with the same client, cf per phase. */
  async function signUp({ cf = CF, submitCf = cf, signals = SIGNALS, headers = {} } = {}) {
    const c = await challenge({ cf, signals, headers });
    if (c.status !== 200) return { issue: c };
    const signalText = signals ? JSON.stringify(signals) : '';
    const solution = await gateCli('solve', '--token', c.body.token, '--signals', signalText);
    const r = await mf.dispatchFetch(`${HOST}/signup`, {
      method: 'POST',
      headers: { ...CHROME.common, ...CHROME.submit, ...headers },
      body: `email=a%40example.com&gate-solution=${encodeURIComponent(solution)}`,
      cf: submitCf,
    });
    const text = await r.text();
    const recs = (await origin.records()).filter((x) => x.method === 'POST');
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

  it('a hosting ASN raises the price and is named', async () => {
    const r = await signUp({ cf: { ...CF, asn: 16509, asOrganization: 'Amazon.com, Inc.' } });
    assert.equal(r.issue.body.risk, 30);
    assert.equal(r.issue.body.difficulty, 13, 'one extra bit doubles the work');
    assert.equal(r.status, 201, r.body);
    assert.deepEqual(r.record.verdict.reasons, ['hosting_asn']);
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

  it('a JavaScript round trip far above the TCP round trip suggests a relay', async () => {
    const relay = await signUp({ cf: { ...CF, clientTcpRtt: 15 }, signals: { ...SIGNALS, rtt: 480 } });
    assert.ok(relay.record.verdict.reasons.includes('rtt_gap'), relay.record.verdict.reasons);
    const far = await signUp({ cf: { ...CF, clientTcpRtt: 160 }, signals: { ...SIGNALS, rtt: 480 } });
    assert.ok(!far.record.verdict.reasons.includes('rtt_gap'), 'a slow but direct connection is fine');
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
    assert.deepEqual(await origin.records(), []);
  });

  it('a client whose risk rises between challenge and sign-up must pay again', async () => {
    const r = await signUp({ submitCf: { ...CF, botManagement: { score: 3, verifiedBot: false } } });
    assert.equal(r.status, 403);
    assert.equal(JSON.parse(r.body).error, 'risk_increased');
    assert.equal(r.records, 0);
  });

  it('a browser User-Agent posting without the widget signals is scored up', async () => {
    const r = await signUp({ signals: null });
    assert.ok(r.record.verdict.reasons.includes('signals_missing') || r.status === 403, r.body);
  });

  it('every decision is logged with its reasons', async () => {
    await new Promise((r) => setTimeout(r, 200));
    const lines = logs.map((l) => { try { return JSON.parse(l); } catch { return null; } }).filter(Boolean);
    const denied = lines.filter((l) => l.code === 'denied');
    assert.ok(denied.length >= 3);
    assert.ok(denied.every((l) => l.reasons.length > 0 && typeof l.score === 'number'));
    assert.ok(denied.some((l) => l.reasons.some((r) => r.code === 'ua_automation' && r.detail.includes('curl'))));
    assert.ok(!logs.join('\n').includes('Europe/Berlin"'), 'raw client signals are not logged');
  });
});
