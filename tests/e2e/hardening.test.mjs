// Hardening classes from an independent attack run (docs/protocol.md § Which requests are protected,
// § How the gate reads a sign-up): path spellings, replays that must not move cohort counters,
// fields the gate and the origin could read differently, and resubmission after busy. One
// wrangler dev (workerd, the real ledger and counter objects) in front of the real demo origin;
// what got through is asserted on the origin's own record.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { liveGate, randomSecret, challenge, gateCli, testPolicy } from './harness.mjs';

const UA = 'gate-e2e/1.0';
const PROTECTED = ['/signup', '/api/register', '/api/otp/send'];

/** One request with the path exactly as given (fetch would normalize it first). */
function raw(url, method, path, { body = '', headers = {} } = {}) {
  const { hostname, port } = new URL(url);
  const head = {
    Host: `${hostname}:${port}`, 'User-Agent': UA, 'Content-Type': 'application/x-www-form-urlencoded',
    'Content-Length': Buffer.byteLength(body), Connection: 'close', ...headers,
  };
  const text = `${method} ${path} HTTP/1.1\r\n${Object.entries(head).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${body}`;
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.end(Buffer.from(text, 'latin1')));
    let reply = '';
    socket.setTimeout(15_000, () => socket.destroy(new Error(`no answer for ${path}`)));
    socket.on('data', (d) => { reply += d.toString('latin1'); });
    socket.on('error', reject);
    socket.on('close', () => {
      const status = Number(reply.match(/^HTTP\/1\.1 (\d{3})/)?.[1] ?? 0);
      const json = reply.slice(reply.indexOf('\r\n\r\n') + 4);
      let parsed = null;
      try { parsed = JSON.parse(json.slice(json.indexOf('{'))); } catch { /* not JSON */ }
      resolve({ status, json: parsed, text: reply });
    });
  });
}

/** Respellings of a path: every single encoding, case change, suffix and prefix of a class. */
function spellings(base) {
  const out = new Set();
  const suffixes = ['.', '..', ' ', '%20', '%00', '%09', '%0a', '%0d', '%7f', '%2e', '%2e%2e', '%3f', '%3fx=1', '%23x',
    '%2520', '%252e', '%25252e', '%c0%ae', '%c0%af', '%e0%80%ae', '%ff', '%', '%2', '%00.php', '%2f', '%2f.', '%5c',
    '/.', '/./', '/..', '/x/..', '::$DATA', '.%20', '%ef%bc%8e', '%e3%80%82', '%e2%80%8b', '%ef%bb%bf', '\\', '%2b'];
  const prefixes = ['/.', '/./', '//', '/x/..', '/x/%2e%2e', '/%2e', '/.%2f', '/x/..%2f', '/login/..%2f', '/x/..;',
    '/%2e%2e', '/x/%252e%252e', '/%c0%ae%c0%ae', '/x%c0%af..%c0%af', '/x/.%2e', '/%20', '/x/..%5c', '/%2f', '/%252f'];
  for (const s of suffixes) out.add(base + s);
  for (const p of prefixes) out.add(p + base);
  for (let i = 1; i < base.length; i++) {
    const c = base[i];
    const hex = c.charCodeAt(0).toString(16).padStart(2, '0');
    for (const enc of [`%${hex.toUpperCase()}`, `%${hex}`, `%25${hex}`]) out.add(base.slice(0, i) + enc + base.slice(i + 1));
    if (/[a-z]/.test(c)) {
      out.add(base.slice(0, i) + c.toUpperCase() + base.slice(i + 1));
      const wide = Buffer.from(String.fromCharCode(c.charCodeAt(0) + 0xfee0)).toString('hex').replace(/../g, '%$&');
      out.add(base.slice(0, i) + wide + base.slice(i + 1));
    }
    if (c === '/') out.add(`${base.slice(0, i)}//${base.slice(i + 1)}`);
  }
  out.add(base.replace('s', '%C5%BF'));
  return [...out];
}

/** Whether any reading a permissive server could make of a path is a protected route: decoded
 * at every level, cut at NUL, ? or # (and at the first ;), \ as /, ;params and :streams
 * dropped, NFKC and case folded, trimmed, dot segments resolved, with or without an extension. */
function readsAsProtected(path) {
  const levels = [path];
  for (let i = 0; i < 8; i++) {
    const p = levels.at(-1);
    let next;
    try { next = decodeURIComponent(p); } catch { next = p.replace(/%([0-9a-f]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16))); }
    if (next === p) break;
    levels.push(next);
  }
  const readings = [];
  for (const level of levels) {
    const cut = level.split(/[\0?#]/)[0];
    for (const text of [cut, cut.split(';')[0]]) {
      const stack = [];
      for (let seg of text.split(/[/\\]/)) {
        seg = seg.split(/[;:]/)[0].normalize('NFKC').toUpperCase().toLowerCase().replace(/^[\s\p{C}]+|[\s\p{C}]+$/gu, '');
        if (seg === '..') { stack.pop(); continue; }
        seg = seg.replace(/[.\s\p{C}]+$/u, '');
        if (seg) stack.push(seg);
      }
      readings.push(`/${stack.join('/')}`);
      if (stack.length) readings.push(`/${[...stack.slice(0, -1), stack.at(-1).split('.')[0]].filter(Boolean).join('/')}`);
    }
  }
  return readings.some((r) => PROTECTED.includes(r));
}

async function post(url, { sol, body = 'email=a%40example.com', headers = {} } = {}) {
  const h = { 'User-Agent': UA, 'Content-Type': 'application/x-www-form-urlencoded', ...headers };
  if (sol !== undefined) h['X-Gate-Solution'] = sol;
  const r = await fetch(url, { method: 'POST', headers: h, body, redirect: 'manual' });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* html */ }
  return { status: r.status, json, headers: r.headers };
}

describe('hardening: paths, replays, duplicate fields, busy', () => {
  const statsToken = randomSecret();
  const adminToken = randomSecret();
  const live = liveGate({
    worker: {
      secrets: { STATS_TOKEN: statsToken, ADMIN_TOKEN: adminToken },
      vars: {
        CHALLENGE_TTL: '120',
        POLICY: testPolicy({
          // counted, never shed at these rates: the tests read the counters
          attack: ['enabled = true', 'window_secs = 600', 'cohorts = ["ua_family", "phone_code"]', 'levels = [{ at = 100000, busy = true }]', 'retry_after_secs = 7'].join('\n'),
          rules: ['[[rules]]', 'name = "otp: +86 only"', 'routes = ["/api/otp/send"]', 'not = { phone_code = ["86"] }', 'action = "deny"'].join('\n'),
        }),
      },
    },
  });

  it('no spelling of a protected route reaches the origin unverified', async () => {
    const paths = [...new Set([...PROTECTED, '/login'].flatMap(spellings))];
    assert.ok(paths.length > 300, `${paths.length} spellings`);
    const answers = new Map();
    for (let i = 0; i < paths.length; i += 8) {
      const batch = paths.slice(i, i + 8);
      const rs = await Promise.all(batch.map((p) => raw(live.gate.url, 'POST', p, { body: 'email=a%40example.com&password=x' })));
      batch.forEach((p, j) => answers.set(p, rs[j]));
    }
    const recorded = await live.origin.records();
    const unverified = recorded.filter((r) => !r.verdict.valid && readsAsProtected(r.path));
    assert.deepEqual(unverified.map((r) => r.path), [], 'forwarded without a verdict');
    for (const [p, r] of answers) {
      if (readsAsProtected(p)) assert.ok([400, 401].includes(r.status), `${p}: ${r.status} ${r.text.slice(0, 200)}`);
    }
    // refusals say why, as JSON, with a stable code
    const refused = answers.get('/signup%20');
    assert.equal(refused.status, 400);
    assert.equal(refused.json.error, 'non_canonical_path');
    // a pass-through route's odd spellings are refused too: no detour through it
    assert.equal(answers.get('/login%2e').status, 400);
    assert.equal(answers.get('/login/..%2f/signup')?.status ?? 400, 400);
    // safe methods are never refused, and the canonical spelling still works
    assert.notEqual((await raw(live.gate.url, 'GET', '/signup%20')).status, 400);
    assert.equal((await raw(live.gate.url, 'POST', '/login', { body: 'email=a%40example.com&password=x' })).status, 303);
    // method overrides count as the method
    const o = await raw(live.gate.url, 'GET', '/signup%20', { headers: { 'X-HTTP-Method-Override': 'POST' } });
    assert.equal(o.status, 400);
  });

  it('replays of one solution leave the cohorts at one sign-up', async () => {
    const ua = 'replay-e2e/1.0';
    const c = await challenge(live.gate.url, '/api/register', ua);
    const sol = await gateCli('solve', '--token', c.token);
    const body = 'email=r%40example.com&phone=%2B882%2016%201234%205678';
    const rs = await Promise.all(Array.from({ length: 60 }, () => post(`${live.gate.url}/api/register`, { sol, body, headers: { 'User-Agent': ua } })));
    const codes = rs.map((r) => r.status);
    assert.equal(codes.filter((s) => s === 201).length, 1, `${codes}`);
    assert.equal(codes.filter((s) => s === 409).length, 59, `${codes}`);
    assert.equal((await live.origin.records()).length, 1);
    // replays with other calling codes move nothing either
    for (const phone of ['+882 16 1234 5679', '+881 6 1234 5678', '+44 20 7946 0000']) {
      const r = await post(`${live.gate.url}/api/register`, { sol, body: new URLSearchParams({ phone }).toString(), headers: { 'User-Agent': ua } });
      assert.equal(r.status, 409, phone);
    }
    const stats = await (await fetch(`${live.gate.url}/__gate/stats`, { headers: { Authorization: `Bearer ${statsToken}` } })).json();
    const rate = (key) => stats.cohorts.find((row) => row.key === key)?.rate ?? 0;
    const family = stats.cohorts.find((row) => row.key.startsWith('ua_family:') && row.key.includes('replay'));
    assert.ok(family, JSON.stringify(stats.cohorts));
    assert.ok(family.rate > 0.5 && family.rate < 1.5, `browser family at ${family.rate}`);
    assert.ok(rate('phone_code:882') > 0.5 && rate('phone_code:882') < 1.5, JSON.stringify(stats.cohorts));
    assert.equal(rate('phone_code:881'), 0);
    assert.equal(rate('phone_code:44'), 0);
  });

  it('refuses a body that repeats a field the gate reads, in every spelling', async () => {
    const bodies = [
      ['phone=%2B86%20138&phone=%2B1%20415', 'form'],
      ['phone=%2B86%20138&Phone=%2B1%20415', 'form'],
      ['phone=%2B86%20138&PHONE=%2B1%20415', 'form'],
      ['phone[]=%2B86%20138&phone[]=%2B1%20415', 'form'],
      ['ph%6Fne=%2B86%20138&phone=%2B1%20415', 'form'],
      ['gate-solution=a&gate-solution=b', 'form'],
      ['gate-solution=a&Gate-Solution=b', 'form'],
      ['{"phone":"+86 138","phone":"+1 415"}', 'json'],
      ['{"phone":"+86 138","Phone":"+1 415"}', 'json'],
      ['{"phone":"+86 138","ph\\u006fne":"+1 415"}', 'json'],
      ['{"gate-solution":"a","gate-solution":"b"}', 'json'],
    ];
    for (const [body, kind] of bodies) {
      const headers = kind === 'json' ? { 'Content-Type': 'application/json' } : {};
      const r = await post(`${live.gate.url}/api/otp/send`, { body, headers });
      assert.equal(r.status, 400, body);
      assert.equal(r.json.error, 'duplicate_field', body);
    }
    // the query string counts with the body
    const q = await post(`${live.gate.url}/api/otp/send?phone=%2B1%20415`, { body: 'phone=%2B86%20138' });
    assert.equal(q.json.error, 'duplicate_field');
    const multi = '--b\r\nContent-Disposition: form-data; name="phone"\r\n\r\n+86 138\r\n--b\r\nContent-Disposition: form-data; name="phone"\r\n\r\n+1 415\r\n--b--\r\n';
    const m = await post(`${live.gate.url}/api/otp/send`, { body: multi, headers: { 'Content-Type': 'multipart/form-data; boundary=b' } });
    assert.equal(m.json.error, 'duplicate_field');
    // a body the gate cannot read fields from is refused, not guessed at
    const t = await post(`${live.gate.url}/api/otp/send`, { body: 'phone=+1', headers: { 'Content-Type': 'text/plain' } });
    assert.equal(t.status, 415);
    assert.equal(t.json.error, 'unsupported_body');
    for (const headers of [{ 'Content-Encoding': 'gzip' }, { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-16' }]) {
      const r = await post(`${live.gate.url}/api/otp/send`, { body: 'phone=%2B1', headers });
      assert.equal(r.status, 415, JSON.stringify(headers));
    }
    const semi = await post(`${live.gate.url}/api/otp/send`, { body: 'email=x;phone=%2B1%20415&phone=%2B86%20138' });
    assert.equal(semi.json.error, 'duplicate_field', 'a repeat behind a ; separator');
    // a valid solution does not help a repeated field
    const c = await challenge(live.gate.url, '/api/otp/send');
    const sol = await gateCli('solve', '--token', c.token);
    const v = await post(`${live.gate.url}/api/otp/send`, { sol, body: 'phone=%2B86%20138&phone=%2B1%20415' });
    assert.equal(v.json.error, 'duplicate_field');
    assert.deepEqual(await live.origin.records(), []);
  });

  it('reads calling codes as phone keyboards type them', async () => {
    const send = async (phone) => {
      const c = await challenge(live.gate.url, '/api/otp/send');
      const sol = await gateCli('solve', '--token', c.token);
      return post(`${live.gate.url}/api/otp/send`, { sol, body: new URLSearchParams({ phone }).toString() });
    };
    for (const phone of ['＋８６ １３８ ００１３ ８０００', '＋86-138-0013-8000', '００８６ 13800138000', '+86\u00a0138\u20110013\u20118000']) {
      const r = await send(phone);
      assert.equal(r.status, 200, `${phone}: ${JSON.stringify(r.json)}`);
    }
    for (const phone of ['+1 415 555 0100', '＋１ ４１５ ５５５ ０１００', '0044 20 7946 0000']) {
      const r = await send(phone);
      assert.equal(r.status, 403, phone);
      assert.equal(r.json.error, 'denied', phone);
    }
    // a number cut short, or one no plan has, is refused whole: never forwarded
    for (const phone of ['＋１ ４１５', '0044 20 7946', '+86\u00a0138\u20110013', '+999 1234 5678']) {
      const r = await send(phone);
      assert.equal(r.status, 400, phone);
      assert.equal(r.json.error, 'invalid_phone', phone);
      assert.match(r.json.reason, /phone number/i, `${phone}: the body says what is wrong`);
    }
    const recorded = await live.origin.records();
    assert.equal(recorded.length, 4);
    assert.ok(recorded.every((r) => r.verdict.valid));
    assert.ok(recorded.some((r) => r.body.includes(encodeURIComponent('＋８６'))), 'the fields reach the origin as sent');
  });

  it('a solution shed as busy is not spent and may be sent again after Retry-After', async () => {
    const admin = (on) => fetch(`${live.gate.url}/__gate/panic`, {
      method: 'POST', headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ scope: 'site', on, minutes: 5 }),
    });
    const c = await challenge(live.gate.url, '/signup');
    const sol = await gateCli('solve', '--token', c.token);
    assert.equal((await admin(true)).status, 200);
    const shed = await post(`${live.gate.url}/signup`, { sol });
    assert.equal(shed.status, 503);
    assert.equal(shed.json.error, 'busy');
    assert.equal(shed.headers.get('retry-after'), '7');
    assert.equal((await admin(false)).status, 200);
    const again = await post(`${live.gate.url}/signup`, { sol });
    assert.equal(again.status, 200, 'the demo origin welcomes the sign-up');
    assert.equal((await post(`${live.gate.url}/signup`, { sol })).status, 409, 'and then it is spent');
    assert.equal((await live.origin.records()).length, 1);
  });

  it('a token whose nonce count is not k is malformed (400)', async () => {
    const c = await challenge(live.gate.url, '/signup');
    for (const sol of [`${c.token}.`, `${c.token}.AAAAAAAAAAA`, `${c.token}.${Buffer.alloc(8 * (c.k + 1)).toString('base64url')}`]) {
      const r = await post(`${live.gate.url}/signup`, { sol });
      assert.equal(r.status, 400, sol);
      assert.equal(r.json.error, 'malformed_solution');
    }
    assert.deepEqual(await live.origin.records(), []);
  });
});
