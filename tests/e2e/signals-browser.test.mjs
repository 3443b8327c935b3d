// Client signals in headless Chromium, through wrangler dev and the demo origin: a person's run
// passes; navigator.webdriver, a spoofed time zone and a language mismatch are scored up with
// their named reasons; swapping the signals after solving invalidates the solution.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { liveGate } from './harness.mjs';
import { launch, person } from './browser.mjs';

describe('client signals from a real browser', () => {
  const live = liveGate({ browser: true });

  const posts = () => live.origin.posts();

  /** Signs up through the demo page; returns the issued challenge JSON. */
  async function signUp(context) {
    const page = await context.newPage();
    let challenge;
    page.on('response', async (r) => { if (r.url().includes('/__gate/challenge') && r.ok()) challenge = await r.json(); });
    await page.goto(`${live.gate.url}/signup`);
    await page.fill('#email', 'person@example.com');
    await page.fill('#password', 'correct horse battery');
    await page.click('button[type=submit]');
    await page.waitForSelector('#result', { timeout: 60_000 });
    return challenge;
  }

  it("a person's run passes at the base price, with no automation reasons", async () => {
    const context = await person(live.browser);
    const c = await signUp(context);
    assert.equal(c.difficulty, 17, `risk ${c.risk}`);
    const [rec] = await posts();
    assert.equal(rec.verdict.valid, true);
    assert.ok(rec.verdict.score < 30, JSON.stringify(rec.verdict));
    for (const r of ['webdriver', 'automation_globals', 'tz_mismatch', 'lang_mismatch', 'uad_mismatch', 'uad_missing', 'ua_headless', 'rtt_gap', 'rtt_unmeasured'])
      assert.ok(!rec.verdict.reasons.includes(r), `${r} in ${rec.verdict.reasons}`);
    await context.close();
  });

  it('navigator.webdriver is named and, with headless traits, refused before any work', async () => {
    const automated = await launch({ automation: true });
    try {
      const context = await person(automated);
      const page = await context.newPage();
      assert.equal(await page.evaluate(() => navigator.webdriver), true);
      await page.goto(`${live.gate.url}/signup`);
      await page.focus('#email');
      await page.waitForSelector('form[data-gate-state=error]');
      assert.match(await page.textContent('form[data-gate] [role=status] span'), /looks automated/);
      const line = await live.gate.waitForLog((l) => l.code === 'denied' && l.reasons?.some((r) => r.code === 'webdriver'));
      assert.ok(line, 'the decision log names the webdriver reason');
      assert.ok(line.score >= 80);
      assert.deepEqual(await posts(), []);
    } finally {
      await automated.close();
    }
  });

  it('a time zone on another continent raises the price and is named in the verdict', async () => {
    const context = await person(live.browser, { timezoneId: 'Asia/Tokyo' });
    const c = await signUp(context);
    assert.ok(c.difficulty > 17, `difficulty ${c.difficulty}`);
    assert.ok(c.risk >= 30);
    const [rec] = await posts();
    assert.equal(rec.verdict.valid, true);
    assert.ok(rec.verdict.reasons.includes('tz_mismatch'), rec.verdict.reasons);
    assert.equal(rec.verdict.d, c.difficulty, 'the origin sees the price that was paid');
    await context.close();
  });

  it('navigator.languages that disagree with Accept-Language are named', async () => {
    const context = await person(live.browser);
    // a spoofed language list, as a script that fakes its locale in JavaScript would have
    await context.addInitScript(() => Object.defineProperty(Navigator.prototype, 'languages', { get: () => ['ja-JP', 'ja'] }));
    const c = await signUp(context);
    assert.ok(c.difficulty > 17, `difficulty ${c.difficulty}`);
    const [rec] = await posts();
    assert.ok(rec.verdict.reasons.includes('lang_mismatch'), rec.verdict.reasons);
    const issued = await live.gate.waitForLog((l) => l.action === 'issue' && l.reasons?.some((r) => r.code === 'lang_mismatch'));
    assert.match(issued.reasons.find((r) => r.code === 'lang_mismatch').detail, /navigator.languages ja, Accept-Language en/);
    await context.close();
  });

  it('swapping the signals after solving makes the solution invalid', async () => {
    const context = await person(live.browser);
    const page = await context.newPage();
    await page.goto(`${live.gate.url}/signup`);
    await page.focus('#email');
    await page.waitForSelector('form[data-gate-state=solved]');
    const solution = await page.inputValue('input[name=gate-solution]');
    const [token, nonces, signals] = solution.split('.');
    assert.ok(signals, 'the solution carries the signals');
    const honest = JSON.parse(Buffer.from(signals, 'base64url').toString());
    assert.equal(honest.webdriver, false);
    // the gate measured the round trip: the ping chain's last stamp, three echoes, a measure
    const stamp = Buffer.from(honest.rttStamp, 'base64url');
    assert.equal(stamp.length, 66, honest.rttStamp);
    assert.equal(stamp[0], 0x52, 'a round-trip stamp');
    assert.equal(stamp[17], 3, 'three round trips measured');
    assert.ok(stamp.readUInt32BE(13) < 10_000, `best round trip ${stamp.readUInt32BE(13)} ms`);
    const swapped = Buffer.from(JSON.stringify({ ...honest, timeZone: 'Europe/Paris' })).toString('base64url');
    const post = (sol) => page.request.post(`${live.gate.url}/signup`, { form: { email: 'x@example.com', 'gate-solution': sol } });
    const bad = await post(`${token}.${nonces}.${swapped}`);
    assert.equal(bad.status(), 403);
    assert.equal((await bad.json()).error, 'insufficient_work');
    const dropped = await post(`${token}.${nonces}`);
    assert.equal(dropped.status(), 403, 'dropping the signals changes the seed too');
    assert.deepEqual(await posts(), []);
    // the untouched solution still works, sent by the browser itself
    await page.fill('#email', 'person@example.com');
    await page.fill('#password', 'correct horse battery');
    await page.click('button[type=submit]');
    await page.waitForSelector('#result');
    assert.equal((await posts()).length, 1);
    await context.close();
  });
});
