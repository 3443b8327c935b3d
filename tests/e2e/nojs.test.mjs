// The no-JavaScript sign-up path end to end (docs/policy.md § No JavaScript): one wrangler dev with a
// policy that turns the path on for /signup only (5 s wait, a no-JS budget of 2 per ASN; the phone
// page's route shows the path off), the real demo origin, and real Chromium with JavaScript disabled. Assertions are on what the origin
// itself recorded.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AxeBuilder } from '@axe-core/playwright';
import path from 'node:path';
import { liveGate, testPolicy, solved, ROOT } from './harness.mjs';
import { person, chromeUserAgent } from './browser.mjs';
import { CHROME, personHeaders } from './clients.mjs';

const WAIT = 5;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('signing up without JavaScript', () => {
  // the JS path's own attack mode is on, so a leak of no-JS counts into it would show
  const policy = testPolicy({
    attack: 'enabled = true\nwindow_secs = 600\ncohorts = ["asn", "ip_prefix"]\nlevels = [{ at = 3, busy = true }]',
    rules: `[no_js]\nroutes = ["/signup"]\nwait_secs = ${WAIT}\nttl_secs = 120\nwindow_secs = 600\nbusy_at = { asn = 2 }`,
  });
  const live = liveGate({ browser: true, reset: false, worker: { vars: { POLICY: policy } } });
  let spentToken, spentFields;

  const posts = () => live.origin.posts();

  /** A browser-like navigation post from outside the browser (same User-Agent, so same binding). */
  function post(body, { accept = CHROME.navigate.Accept, navigate = true } = {}) {
    const headers = {
      ...personHeaders(chromeUserAgent(live.browser)),
      ...(navigate ? CHROME.navigate : CHROME.fetch),
      Accept: accept,
      'Content-Type': 'application/x-www-form-urlencoded',
    };
    return fetch(`${live.gate.url}/signup`, { method: 'POST', headers, body, redirect: 'manual' });
  }

  const tokenIn = (html) => html.match(/name="gate-wait" value="([A-Za-z0-9_-]+)"/)?.[1];

  it('a person fills the demo form, waits, presses Continue: exactly one sign-up with the fields intact', async () => {
    const context = await person(live.browser, { javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${live.gate.url}/signup`);
    // the page's <noscript> stylesheet comes from the gate, which knows the path is on here
    assert.ok(await page.isVisible('#gate-nojs'));
    assert.equal(await page.isVisible('#gate-noscript'), false);
    await page.fill('#email', 'nojs@example.com');
    await page.fill('#password', 'correct horse battery');
    await page.fill('#phone', '+44 20 7946 0000');
    const [first] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    assert.equal(first.status(), 200);
    assert.equal(first.headers()['cache-control'], 'no-store');
    assert.equal(await page.locator('h1').count(), 1);
    assert.equal(await page.textContent('h1'), 'One moment, please');
    assert.match(await page.textContent('[role=status]'), new RegExp(`wait ${WAIT} seconds`));
    assert.equal(await page.getAttribute('input[name=email]', 'type'), 'hidden');
    assert.equal(await page.inputValue('input[name=email]'), 'nojs@example.com');
    assert.equal(await page.locator('input[name=gate-solution]').count(), 0);
    assert.deepEqual(await posts(), [], 'nothing forwarded yet');
    await page.screenshot({ path: path.join(ROOT, 'docs', 'screenshots', 'nojs-wait.png') });

    // too early: told to wait, nothing forwarded, nothing spent
    const [early] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    assert.equal(early.status(), 429);
    const left = Number(early.headers()['retry-after']);
    assert.ok(left >= 1 && left <= WAIT, `Retry-After ${left}`);
    assert.match(await page.textContent('[role=status]'), /Not yet: please wait \d+ more seconds/);
    assert.deepEqual(await posts(), []);

    // axe-core needs script: run it on the same markup in a context with JavaScript on
    const html = await page.content(); // the wait page (again, with the time left)
    const axeContext = await person(live.browser);
    const axePage = await axeContext.newPage();
    await axePage.setContent(html);
    const axe = await new AxeBuilder({ page: axePage }).analyze();
    assert.deepEqual(axe.violations.map((v) => `${v.id}: ${v.help}`), []);
    await axeContext.close();


    await sleep((left + 1) * 1000);
    spentFields = await page.$$eval('form input[type=hidden]', (els) => els.map((e) => [e.name, e.value]));
    spentToken = spentFields.find(([n]) => n === 'gate-wait')[1];
    const [done] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    assert.equal(done.status(), 200);
    assert.equal(await page.textContent('#result'), 'Signed up as nojs@example.com');
    const recs = await posts();
    assert.equal(recs.length, 1);
    assert.equal(recs[0].path, '/signup');
    assert.equal(recs[0].body, 'email=nojs%40example.com&password=correct+horse+battery&phone=%2B44+20+7946+0000', 'the fields as the browser encoded them, without the gate\'s token');
    const v = recs[0].verdict;
    assert.equal(v.valid, true, JSON.stringify(v));
    assert.ok(v.reasons.includes('no_js'), JSON.stringify(v.reasons));
    assert.equal(v.d, 0);
    assert.equal(v.k, 0);
    assert.ok(await live.gate.waitForLog((l) => l.action === 'forward' && l.no_js === true), 'logged as a no-JS forward');
    await context.close();
  });

  it('where the path is off (the phone page\'s route is not listed here), the page says JavaScript is needed and a crafted post gets a page, not the origin', async () => {
    const context = await person(live.browser, { javaScriptEnabled: false, locale: 'de-DE' });
    const page = await context.newPage();
    await page.goto(`${live.gate.url}/phone`);
    assert.ok(await page.isVisible('#gate-noscript'));
    assert.match(await page.textContent('#gate-noscript'), /JavaScript is needed to get a code/);
    assert.equal(await page.isVisible('#gate-nojs'), false);
    assert.equal(await page.isVisible('form[data-gate]'), false, 'the form is hidden, so it cannot be sent half-verified');
    await page.screenshot({ path: path.join(ROOT, 'docs', 'screenshots', 'noscript.png') });
    const before = (await posts()).length;
    const resp = await page.request.post(`${live.gate.url}/api/otp/send?page=1`, {
      form: { phone: '+44 7400 123456' },
      headers: { Accept: 'text/html', 'Sec-Fetch-Mode': 'navigate', 'Accept-Language': 'de-DE,de' },
    });
    assert.equal(resp.status(), 401);
    assert.match(await resp.text(), /Bitte aktivieren Sie JavaScript/);
    assert.equal((await posts()).length, before);
    await context.close();
  });

  it('refuses a replayed wait token and a forged one', async () => {
    assert.ok(spentToken, 'the first test ran');
    const before = (await posts()).length;
    const body = new URLSearchParams(spentFields).toString();
    const replay = await post(body, { accept: 'application/json', navigate: false });
    assert.equal(replay.status, 409);
    assert.equal((await replay.json()).error, 'already_spent');

    const raw = Buffer.from(spentToken, 'base64url');
    raw[raw.length - 1] ^= 1;
    const forged = new URLSearchParams([...spentFields.filter(([n]) => n !== 'gate-wait'), ['gate-wait', raw.toString('base64url')]]);
    const f = await post(forged.toString(), { accept: 'application/json', navigate: false });
    assert.equal(f.status, 403);
    assert.equal((await f.json()).error, 'bad_signature');
    // as a browser: a page, not the origin
    const page = await post(forged.toString());
    assert.equal(page.status, 403);
    assert.match(await page.text(), /<html lang="en">/);
    assert.equal((await posts()).length, before);
  });

  it('sheds the no-JS cohort at its budget while the JS path from the same network still signs up', async () => {
    const before = (await posts()).length;
    // two more no-JS sign-ups from the same network: the ASN's no-JS budget is 2 per window
    const pages = await Promise.all([1, 2].map((i) => post(`email=bulk${i}%40example.com&password=x`)));
    const tokens = [];
    for (const p of pages) {
      assert.equal(p.status, 200);
      tokens.push(tokenIn(await p.text()));
    }
    assert.ok(tokens.every(Boolean));
    await sleep((WAIT + 1) * 1000);
    for (const [i, t] of tokens.entries()) {
      const r = await post(`email=bulk${i + 1}%40example.com&password=x&gate-wait=${t}`);
      assert.equal(r.status, 200, await r.text());
    }
    assert.equal((await posts()).length, before + 2);

    // three no-JS sign-ups from this ASN in the window: the next one is shed, with Retry-After
    const shed = await post('email=bulk3%40example.com&password=x');
    assert.equal(shed.status, 503);
    assert.ok(Number(shed.headers.get('retry-after')) > 0);
    assert.match(await shed.text(), /Sign-up is busy/);
    const api = await post('email=bulk3%40example.com&password=x', { accept: 'application/json', navigate: false });
    assert.equal(api.status, 401, 'an API client never gets the no-JS path');
    assert.equal((await posts()).length, before + 2);

    // the JS path's cohorts never saw those: a solved challenge from the same network passes
    const solution = await solved(live.gate.url, '/signup');
    const js = await fetch(`${live.gate.url}/signup`, {
      method: 'POST',
      headers: { 'User-Agent': 'gate-e2e/1.0', 'X-Gate-Solution': solution, 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: 'email=js%40example.com&password=x',
    });
    assert.equal(js.status, 201, await js.text());
    const recs = await posts();
    assert.equal(recs.length, before + 3);
    assert.equal(recs.at(-1).verdict.valid, true);
    assert.ok(!recs.at(-1).verdict.reasons.includes('no_js'));
    assert.ok(await live.gate.waitForLog((l) => l.code === 'busy' && l.no_js === true && /nojs:asn:/.test(l.detail)));
  });
});
