// The gate end to end: real workerd (wrangler dev), the real ledger Durable Object, the real
// demo origin. Every assertion about what got through is made on the origin's own record.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { liveGate, randomSecret, challenge, solved, gateCli, testPolicy } from './harness.mjs';
import { unb64, parseToken, mintToken, solution, lazyNonce, verifyVerdict, kid } from './protocol.mjs';

const UA = 'gate-e2e/1.0';
const VARS = { POLICY: testPolicy(), CHALLENGE_TTL: '60', CLOCK_SKEW: '5' };

async function post(url, { solution: sol, body = 'email=a%40example.com&password=hunter2hunter2', ua = UA, headers = {}, field = false } = {}) {
  const h = { 'User-Agent': ua, 'Content-Type': 'application/x-www-form-urlencoded', ...headers };
  let b = body;
  if (sol !== undefined && field) b = `${body}&gate-solution=${encodeURIComponent(sol)}`;
  else if (sol !== undefined) h['X-Gate-Solution'] = sol;
  const r = await fetch(url, { method: 'POST', headers: h, body: b, redirect: 'manual' });
  return { status: r.status, json: r.headers.get('content-type')?.includes('json') ? await r.json() : null, headers: r.headers };
}

/** POSTs `count` chunks of `size` bytes with chunked encoding on a fresh connection. */
function chunkedPost(url, headers, count, size) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    for (let i = 0; i < count; i++) req.write('x'.repeat(size));
    req.end();
  });
}

describe('gate with the default configuration', () => {
  const live = liveGate({ worker: { vars: VARS } });

  it('issues a signed challenge with the documented fields', async () => {
    const c = await challenge(live.gate.url, '/signup');
    assert.equal(c.v, 1);
    assert.equal(c.route, '/signup');
    assert.equal(c.difficulty, 12);
    assert.equal(c.k, 8);
    assert.equal(c.expires_at - c.issued_at, 60);
    assert.equal(c.kid, kid(live.gateSecret).toString('hex'));
    const t = parseToken(unb64(c.token));
    assert.equal(t.route, '/signup');
    assert.equal(Buffer.from(t.id).toString('base64url'), c.id);
    assert.equal(t.signature.toString('base64url'), c.signature);
    const other = await challenge(live.gate.url, '/signup');
    assert.notEqual(other.id, c.id, 'ids are random');
  });

  it('refuses challenges for routes it does not protect', async () => {
    const r = await fetch(`${live.gate.url}/__gate/challenge?route=/login`);
    assert.equal(r.status, 400);
    assert.equal((await r.json()).error, 'unknown_route');
    const n = await fetch(`${live.gate.url}/__gate/nothing-here`);
    assert.equal(n.status, 404);
  });

  it('forwards a solved sign-up exactly once, with a valid verdict header', async () => {
    const sol = await solved(live.gate.url, '/signup', UA);
    const r = await post(`${live.gate.url}/signup`, { solution: sol });
    assert.equal(r.status, 200);
    const recs = await live.origin.records();
    assert.equal(recs.length, 1);
    const rec = recs[0];
    assert.equal(rec.method, 'POST');
    assert.equal(rec.path, '/signup');
    assert.equal(rec.body, 'email=a%40example.com&password=hunter2hunter2');
    assert.equal(rec.verdict.valid, true, JSON.stringify(rec.verdict));
    const names = rec.headers.map(([k]) => k);
    assert.ok(!names.includes('x-gate-solution'), 'solution header is removed');
    // the origin team's check, implemented independently from docs/verdict.md
    const header = rec.headers.find(([k]) => k === 'x-gate-verdict')[1];
    const check = verifyVerdict(header, live.originSecret, { method: 'POST', path: '/signup' });
    assert.ok(check.ok, check.why);
    assert.equal(check.fields.d, '12');
    assert.equal(check.fields.k, '8');
    assert.equal(verifyVerdict(header, randomSecret(), { method: 'POST', path: '/signup' }).ok, false);
  });

  it('accepts the solution as a URL-encoded form field, a multipart field, or in a JSON body', async () => {
    const a = await post(`${live.gate.url}/signup`, { solution: await solved(live.gate.url, '/signup'), field: true });
    assert.equal(a.status, 200);
    const fd = new FormData();
    fd.set('email', 'm@example.com');
    fd.set('gate-solution', await solved(live.gate.url, '/signup'));
    const b = await fetch(`${live.gate.url}/signup`, { method: 'POST', headers: { 'User-Agent': UA }, body: fd });
    assert.equal(b.status, 200);
    const j = await fetch(`${live.gate.url}/api/register`, {
      method: 'POST',
      headers: { 'User-Agent': UA, 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'j@example.com', 'gate-solution': await solved(live.gate.url, '/api/register') }),
    });
    assert.equal(j.status, 201);
    const recs = await live.origin.records();
    assert.equal(recs.length, 3);
    assert.ok(recs.every((r) => r.verdict.valid));
  });

  it('the CLI client signs up through the gate', async () => {
    const out = JSON.parse(await gateCli('submit', `${live.gate.url}/api/register`, '--data', '{"email":"cli@example.com"}', '--content-type', 'application/json', '--json'));
    assert.equal(out.status, 201);
    const recs = await live.origin.records();
    assert.equal(recs.length, 1);
    assert.equal(recs[0].verdict.valid, true);
  });

  it('rejects every bad submission and forwards none of them', async () => {
    const c = await challenge(live.gate.url, '/signup');
    const token = unb64(c.token);
    const t = parseToken(token);
    const good = await gateCli('solve', '--token', c.token);
    const nonces = unb64(good.split('.')[1]);
    const nonceList = Array.from({ length: t.k }, (_, i) => nonces.readBigUInt64BE(8 * i));

    // forged: lower the difficulty byte but keep the old signature
    const forged = Buffer.from(token); forged[37] = 1;
    // unknown key: a well-formed token signed with a key the gate does not hold
    const foreign = mintToken({ ...t, id: crypto.randomBytes(16) }, randomSecret());
    // expired: correctly signed (the test knows the secret), expired 10 minutes ago
    const now = Math.floor(Date.now() / 1000);
    const expired = mintToken({ ...t, id: crypto.randomBytes(16), issuedAt: now - 700, expiresAt: now - 600 }, live.gateSecret);
    const lazy = [lazyNonce(token, 0), ...nonceList.slice(1)];
    const otherRoute = await solved(live.gate.url, '/api/register');
    const otherUa = await solved(live.gate.url, '/signup', 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0');

    const cases = [
      ['no solution', undefined, 401, 'missing_solution'],
      ['garbage', 'not a solution', 400, 'malformed_solution'],
      ['truncated nonces', `${c.token}.AAAA`, 400, 'malformed_solution'],
      ['forged signature', solution(forged, nonceList), 403, 'bad_signature'],
      ['unknown key id', solution(foreign, nonceList), 403, 'unknown_key'],
      ['expired', solution(expired, nonceList), 401, 'expired'],
      ['too little work', solution(token, lazy), 403, 'insufficient_work'],
      ['another route', otherRoute, 403, 'wrong_route'],
      ['other User-Agent (binding)', otherUa, 403, 'binding_mismatch'],
    ];
    for (const [name, sol, status, code] of cases) {
      const r = await post(`${live.gate.url}/signup`, { solution: sol });
      assert.equal(r.status, status, name);
      assert.equal(r.json.error, code, name);
      assert.equal(typeof r.json.message, 'string', name);
      assert.ok(!JSON.stringify(r.json).includes('sub-puzzle'), `${name}: private detail leaked`);
      if (status === 401 || status === 403) assert.equal(r.json.challenge, '/__gate/challenge?route=/signup', name);
    }
    assert.deepEqual(await live.origin.records(), [], 'nothing rejected reaches the origin');
    // and the untouched original still works: rejections never spent it
    assert.equal((await post(`${live.gate.url}/signup`, { solution: good })).status, 200);
  });

  it('refuses a replay with 409', async () => {
    const sol = await solved(live.gate.url, '/signup');
    assert.equal((await post(`${live.gate.url}/signup`, { solution: sol })).status, 200);
    const again = await post(`${live.gate.url}/signup`, { solution: sol });
    assert.equal(again.status, 409);
    assert.equal(again.json.error, 'already_spent');
    assert.equal((await live.origin.records()).length, 1);
  });

  it('refuses oversized bodies, declared or streamed, with 413', async () => {
    const sol = await solved(live.gate.url, '/signup');
    const big = `email=a%40b.c&pad=${'x'.repeat(70 * 1024)}`;
    const r = await post(`${live.gate.url}/signup`, { solution: sol, body: big });
    assert.equal(r.status, 413);
    assert.equal(r.json.error, 'too_large');
    // chunked, no Content-Length: refused once the bytes read pass the limit
    const s = await chunkedPost(`${live.gate.url}/signup`, { 'User-Agent': UA, 'X-Gate-Solution': sol }, 80, 1024);
    assert.equal(s.status, 413);
    assert.deepEqual(await live.origin.records(), []);
    // the solution was not spent by the refused requests, and the modest overflow was drained
    // so the connection behind it is still usable
    assert.equal((await post(`${live.gate.url}/signup`, { solution: sol })).status, 200);
    assert.equal((await live.origin.records()).length, 1);
  });

  it('forwards exactly one of 200 concurrent submissions of one solution', async () => {
    const sol = await solved(live.gate.url, '/signup');
    const results = await Promise.all(Array.from({ length: 200 }, () => post(`${live.gate.url}/signup`, { solution: sol })));
    const statuses = results.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 200).length, 1, JSON.stringify(statuses));
    assert.equal(statuses.filter((s) => s === 409).length, 199);
    const recs = await live.origin.records();
    assert.equal(recs.length, 1);
    assert.equal(recs[0].verdict.valid, true);
  });

  it('passes logins and other routes through untouched', async () => {
    const spoofed = 'v=1;t=0;id=x;m=POST;p=/login;d=0;k=0;score=0;reasons=-;sig=AAAA';
    const r = await fetch(`${live.gate.url}/login?next=%2Fhome`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'User-Agent': UA, 'Content-Type': 'application/x-www-form-urlencoded', 'X-Custom': 'kept', 'X-Gate-Verdict': spoofed, Cookie: 'session=abc' },
      body: 'email=a%40b.c&password=pw',
    });
    assert.equal(r.status, 303, 'redirects are passed on, not followed');
    assert.equal(r.headers.get('location'), `${live.gate.url}/account`, 'origin-absolute redirect rewritten to the public host');
    const big = crypto.randomBytes(1 << 20);
    const put = await fetch(`${live.gate.url}/upload`, { method: 'PUT', body: big, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(put.status, 200);
    const get = await fetch(`${live.gate.url}/signup?ref=ad`, { headers: { 'User-Agent': UA } });
    assert.equal(get.status, 200, 'GET of the sign-up page is not protected');
    assert.match(await get.text(), /<form/);
    const recs = await live.origin.records();
    assert.equal(recs.length, 3);
    const [login, upload, page] = recs;
    assert.equal(login.method, 'POST');
    assert.equal(login.path, '/login');
    assert.equal(login.query, 'next=%2Fhome');
    assert.equal(login.body, 'email=a%40b.c&password=pw');
    const h = Object.fromEntries(login.headers);
    assert.equal(h['x-custom'], 'kept');
    assert.equal(h.cookie, 'session=abc');
    assert.equal(h['x-gate-verdict'], undefined, 'a client cannot hand the origin a verdict');
    assert.equal(upload.method, 'PUT');
    assert.equal(upload.body_len, 1 << 20, 'pass-through bodies are not size-limited');
    assert.equal(page.query, 'ref=ad');
  });

  it('treats spelling variants and method overrides of a protected route as protected', async () => {
    for (const path of ['/SignUp', '/signup/', '/signup;x=1', '/signup.json']) {
      const r = await post(`${live.gate.url}${path}`);
      assert.equal(r.status, 401, path);
    }
    // spellings with more than one reading are refused outright (docs/protocol.md § Which requests are protected)
    for (const path of ['//signup', '/sign%75p']) {
      const r = await post(`${live.gate.url}${path}`);
      assert.equal(r.status, 400, path);
      assert.equal(r.json.error, 'non_canonical_path', path);
    }
    const o = await fetch(`${live.gate.url}/signup`, { method: 'PUT', headers: { 'X-HTTP-Method-Override': 'POST', 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'x' });
    assert.equal(o.status, 401);
    assert.deepEqual(await live.origin.records(), []);
  });

  it('logs one JSON line per decision without secrets', async () => {
    // this test's own traffic, told apart from the earlier tests' by a path below /signup (the
    // route still protects it) that no other test posts to, and the challenge's id for the issue
    const own = `${live.gate.url}/signup/log-test`;
    const c = await challenge(live.gate.url, '/signup');
    const token = unb64(c.token);
    const nonces = unb64((await gateCli('solve', '--token', c.token)).split('.')[1]);
    const nonceList = Array.from({ length: parseToken(token).k }, (_, i) => nonces.readBigUInt64BE(8 * i));
    const forged = Buffer.from(token); forged[37] = 1;
    const lazy = [lazyNonce(token, 0), ...nonceList.slice(1)];
    assert.equal((await post(own)).status, 401);
    assert.equal((await post(own, { solution: solution(token, nonceList), body: `pad=${'x'.repeat(70 * 1024)}` })).status, 413);
    assert.equal((await post(own, { solution: solution(forged, nonceList) })).status, 403);
    assert.equal((await post(own, { solution: solution(token, lazy) })).status, 403);
    const forwarded = await post(own, { solution: solution(token, nonceList) });
    assert.equal((await post(own, { solution: solution(token, nonceList) })).status, 409);
    assert.deepEqual((await live.origin.records()).map((r) => r.path), ['/signup/log-test'], 'only the paid one arrived');

    const mine = (l) => l.gate === 'decision' && (l.path === '/signup/log-test' || (l.action === 'issue' && l.id === c.id));
    const expected = [
      ['issue', undefined, 200],
      ['reject', 'missing_solution', 401],
      ['reject', 'too_large', 413],
      ['reject', 'bad_signature', 403],
      ['reject', 'insufficient_work', 403],
      ['forward', undefined, forwarded.status],
      ['reject', 'already_spent', 409],
    ];
    for (const [action, code, status] of expected) {
      const line = await live.gate.waitForLog((l) => mine(l) && l.action === action && l.code === code);
      assert.equal(line.status, status, JSON.stringify(line));
    }
    const lines = live.gate.logLines().filter(mine);
    assert.equal(lines.length, expected.length, JSON.stringify(lines));
    assert.ok(lines.find((l) => l.code === 'insufficient_work').detail.includes('sub-puzzle'), 'private detail goes to the log');
    for (const l of live.gate.logLines().filter((x) => x.gate === 'decision')) {
      assert.ok(['issue', 'forward', 'reject'].includes(l.action), JSON.stringify(l));
      assert.equal(typeof l.status, 'number');
    }
    assert.ok(!live.gate.output.text.includes(live.gateSecret));
    assert.ok(!live.gate.output.text.includes(live.originSecret));
  });

  // Last in this suite on purpose: a cancelled upload leaves wrangler dev's local proxy with a
  // dead keep-alive connection to workerd for the next request (Cloudflare's edge has no such
  // proxy), so nothing runs after it on this gate.
  it('stops reading an upload far past the limit and refuses it', async () => {
    const sol = await solved(live.gate.url, '/signup');
    const huge = await chunkedPost(`${live.gate.url}/signup`, { 'User-Agent': UA, 'X-Gate-Solution': sol }, 3000, 1024);
    assert.equal(huge.status, 413);
    assert.deepEqual(await live.origin.records(), []);
  });
});

describe('gate configuration problems and key rotation', () => {
  const live = liveGate({ worker: null });

  it('with an invalid configuration, protected routes answer 503 and logins still pass', async () => {
    const gate = await live.startWorker({ secrets: { GATE_SECRET: 'too-short' }, vars: { ...VARS, POLICY: testPolicy({ difficulty: 99 }) } });
    try {
      const r = await post(`${gate.url}/signup`, { solution: 'anything' });
      assert.equal(r.status, 503);
      assert.equal(r.json.error, 'misconfigured');
      assert.ok(r.headers.get('retry-after'));
      const c = await fetch(`${gate.url}/__gate/challenge?route=/signup`);
      assert.equal(c.status, 503);
      const login = await post(`${gate.url}/login`);
      assert.equal(login.status, 303);
      const recs = await live.origin.records();
      assert.deepEqual(recs.map((x) => x.path), ['/login']);
      const config = await gate.waitForLog((l) => l.gate === 'config');
      assert.ok(config, 'config problems are logged');
      assert.equal(config.problems.length, 2, JSON.stringify(config.problems));
      assert.ok(config.problems.some((p) => p.includes('defaults.difficulty: 99 is outside 1..=32')), JSON.stringify(config.problems));
      assert.ok(config.problems.some((p) => p.includes('GATE_SECRET is 9 bytes')));
      assert.ok(!gate.output.text.includes('too-short'), 'secret values are never logged');
    } finally {
      await gate.stop();
    }
  });

  it('accepts challenges signed with the previous key during a rotation', async () => {
    const oldSecret = randomSecret();
    const gate = await live.startWorker({ secrets: { GATE_SECRET_PREVIOUS: oldSecret }, vars: VARS });
    try {
      // a challenge as the old deployment would have issued it (same client, so same binding)
      const fresh = parseToken(unb64((await challenge(gate.url, '/signup')).token));
      const old = mintToken({ ...fresh, id: crypto.randomBytes(16) }, oldSecret);
      const sol = await gateCli('solve', '--token', old.toString('base64url'));
      assert.equal((await post(`${gate.url}/signup`, { solution: sol })).status, 200);
      // a key that is neither current nor previous is refused
      const stranger = mintToken({ ...fresh, id: crypto.randomBytes(16) }, randomSecret());
      const r = await post(`${gate.url}/signup`, { solution: await gateCli('solve', '--token', stranger.toString('base64url')) });
      assert.equal(r.status, 403);
      assert.equal((await live.origin.records()).length, 1);
    } finally {
      await gate.stop();
    }
  });

  it('fails closed when the ledger cannot be reached, or open when configured to', async () => {
    const closed = await live.startWorker({ vars: VARS, config: 'tests/e2e/fixtures/no-ledger.wrangler.toml' });
    try {
      const r = await post(`${closed.url}/signup`, { solution: await solved(closed.url, '/signup') });
      assert.equal(r.status, 503);
      assert.equal(r.json.error, 'ledger_unavailable');
      assert.deepEqual(await live.origin.records(), []);
    } finally {
      await closed.stop();
    }
    const open = await live.startWorker({ vars: { ...VARS, FAIL_OPEN: 'true' }, config: 'tests/e2e/fixtures/no-ledger.wrangler.toml' });
    try {
      const r = await post(`${open.url}/signup`, { solution: await solved(open.url, '/signup') });
      assert.equal(r.status, 200);
      const recs = await live.origin.records();
      assert.equal(recs.length, 1);
      assert.ok(recs[0].verdict.reasons.includes('ledger_unavailable_fail_open'), recs[0].verdict.reasons);
    } finally {
      await open.stop();
    }
  });
});
