// Banked effort in a real browser: headless Chromium + wrangler dev + the demo origin.
// 1. The price rises while a person fills the form (other Chrome sign-ups push the Chrome
//    cohort up a level); the person presses submit once: the widget tops up what was solved
//    before (one challenge, never fetched again), one sign-up reaches the origin, no error page.
// 2. With a capacity route over its capacity the gate suggests more work than it asks: the
//    widget banks toward it with one worker while the person types, and pauses while the tab
//    is hidden.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { liveGate, testPolicy, solved } from './harness.mjs';
import { person, chromeUserAgent } from './browser.mjs';

const ATTACK = [
  'enabled = true', 'window_secs = 120', 'cohorts = ["ua_family"]',
  'levels = [{ at = 2, extra_bits = 3 }]',
  '[[attack.capacity]]', 'route = "/api/register"', 'signups_per_minute = 2', 'ceiling_bits = 6', 'period_secs = 1',
].join('\n');

describe('banked effort in the browser', () => {
  const live = liveGate({ worker: { vars: { POLICY: testPolicy({ difficulty: 10, k: 8, attack: ATTACK }) } }, browser: true });

  /** A scripted sign-up with this User-Agent (solved natively), forwarded by the gate. */
  async function scripted(route, ua, n) {
    const sol = await solved(live.gate.url, route, ua);
    const r = await fetch(`${live.gate.url}${route}`, {
      method: 'POST', headers: { 'User-Agent': ua, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email: `script${n}@example.com`, password: 'x', 'gate-solution': sol }),
    });
    assert.ok(r.status < 400, `scripted sign-up ${n}: ${r.status} ${await r.text()}`);
  }

  it('a price that rose while the form was filled is topped up: one submit, one sign-up, no error page', async () => {
    const context = await person(live.browser);
    const page = await context.newPage();
    const asked = { challenge: 0, topup: 0 };
    let posted = '';
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.pathname === '/__gate/challenge') asked.challenge++;
      if (u.pathname === '/__gate/topup') asked.topup++;
      if (u.pathname === '/signup' && r.method() === 'POST') posted = r.postData() || '';
    });
    await page.goto(`${live.gate.url}/signup`);
    await page.focus('#email');
    await page.waitForSelector('form[data-gate-state=solved]');
    // meanwhile, three Chrome sign-ups from elsewhere: the Chrome cohort is a level up (+3 bits)
    const ua = chromeUserAgent(live.browser);
    for (let n = 0; n < 3; n++) await scripted('/signup', ua, n);
    await page.fill('#email', 'person@example.com');
    await page.fill('#password', 'correct horse battery');
    await page.click('button[type=submit]');
    await page.waitForURL(`${live.gate.url}/signup`, { waitUntil: 'load' });
    await page.waitForSelector('#result');
    assert.equal(await page.textContent('#result'), 'Signed up as person@example.com', 'the origin answered, not an error page');
    const mine = (await live.origin.records()).filter((r) => r.method === 'POST' && String(r.body || '').includes('person%40example.com'));
    assert.equal(mine.length, 1, 'exactly one sign-up reached the origin');
    assert.equal(mine[0].verdict.valid, true);
    assert.equal(asked.challenge, 1, 'the work done before the rise was kept: no second challenge');
    assert.ok(asked.topup >= 1, 'the price was asked again before the post');
    const solution = new URLSearchParams(posted).get('gate-solution') || '';
    assert.ok(solution.includes('~'), 'the post carried a top-up');
    await context.close();
  });

  it('banks toward the suggestion with one worker while typing, and pauses while the tab is hidden', async () => {
    // the capacity route over its capacity: the controller raises, and forecasts more
    for (let n = 0; n < 6; n++) await scripted('/api/register', 'curl/8.5.0', 10 + n);
    const context = await person(live.browser);
    const page = await context.newPage();
    await page.goto(`${live.gate.url}/signup`);
    // a form for the capacity route, attached like the demo's
    await page.evaluate(() => {
      const f = document.createElement('form');
      f.method = 'post';
      f.action = '/api/register';
      f.id = 'register';
      f.innerHTML = '<input name="email" id="remail">';
      document.body.append(f);
      window.gate.attach(f);
    });
    await page.focus('#remail');
    await page.waitForSelector('#register[data-gate-state=solved]', { timeout: 60_000 });
    await page.waitForSelector('#register[data-gate-bank=banking]', { timeout: 20_000 });
    assert.equal(await page.evaluate(() => window.gate.bank.threads), 1, 'one worker while the person types');
    // the tab is hidden: banking pauses and holds no worker
    await page.evaluate(() => {
      Object.defineProperty(document, 'hidden', { value: true, configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await page.waitForSelector('#register[data-gate-bank=paused]', { timeout: 10_000 });
    assert.equal(await page.evaluate(() => window.gate.bank.threads), 0, 'no worker while hidden');
    // visible again: it goes on, still with one worker
    await page.evaluate(() => {
      Object.defineProperty(document, 'hidden', { value: false, configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await page.waitForFunction(() => ['banking', 'done'].includes(window.gate.bank.state), null, { timeout: 10_000 });
    assert.ok((await page.evaluate(() => window.gate.bank.threads)) <= 1);
    await context.close();
  });
});
