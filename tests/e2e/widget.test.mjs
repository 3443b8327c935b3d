// The browser widget end to end: headless Chromium + wrangler dev + the demo origin. A person
// fills the demo form; the assertions are on what the origin itself received.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { liveGate, policyJson, testPolicy, ROOT } from './harness.mjs';
import { launch, person } from './browser.mjs';

/**
 * A Chromium without a JIT, as iOS Lockdown Mode leaves a browser: V8's --jitless also removes
 * `WebAssembly` (on the page and in workers). (This Chromium's V8 no longer has
 * --noexpose_wasm: passing it makes V8 ignore the whole --js-flags.) Otherwise a person's
 * browser, as browser.mjs's launch() presents it.
 */
const launchWithoutWasm = () => launch({ args: ['--js-flags=--jitless'] });

const SHOTS = path.join(ROOT, 'docs', 'screenshots');

/** A page in a new browser context that presents itself as a person (`options` override). */
async function personPage(browser, options) {
  const context = await person(browser, options);
  return { context, page: await context.newPage() };
}

async function fill(page, email = 'person@example.com') {
  await page.fill('#email', email);
  await page.fill('#password', 'correct horse battery');
}

/** The page's uncaught errors and console errors, collected as they happen. */
function errorsOf(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  return errors;
}

/** Makes the page keep the solver each `gate:solved` event names in `window.__solvedWith`. */
function recordSolver(page) {
  return page.addInitScript(() => document.addEventListener('gate:solved', (e) => { window.__solvedWith = e.detail.solver; }));
}

/**
 * Waits until the widget has solved with the JavaScript solver, as the form's attribute and the
 * `gate:solved` event (recordSolver) both say; a slow solver gets two minutes.
 */
async function solvedWithJavaScript(page) {
  await page.waitForSelector('form[data-gate-state=solved]', { timeout: 120_000 });
  assert.equal(await page.getAttribute('form', 'data-gate-solver'), 'js');
  assert.equal(await page.evaluate(() => window.__solvedWith), 'js', 'gate:solved says which solver ran');
}

/**
 * Waits for the demo's answer to a submitted form: it signed up `email`, and exactly one
 * verified sign-up reached the origin. Returns the origin's record of it.
 */
async function signedUp(page, origin, email = 'person@example.com') {
  await page.waitForSelector('#result');
  assert.equal(await page.textContent('#result'), `Signed up as ${email}`);
  const recs = await origin.posts();
  assert.equal(recs.length, 1);
  assert.equal(recs[0].verdict.valid, true, JSON.stringify(recs[0].verdict));
  return recs[0];
}

describe('the widget on the demo sign-up page', () => {
  // the shipped defaults (difficulty 17, k = 32), except a short TTL for the expiry test
  const live = liveGate({ browser: true, worker: { vars: { CHALLENGE_TTL: '30' } } });
  before(() => fs.mkdirSync(SHOTS, { recursive: true }));

  const posts = () => live.origin.posts();

  it('a person fills the form and submits: exactly one verified sign-up reaches the origin', async () => {
    const { context, page } = await personPage(live.browser);
    const errors = errorsOf(page);
    await page.goto(`${live.gate.url}/signup`);
    await page.screenshot({ path: path.join(SHOTS, 'idle.png') });
    await fill(page);
    await page.click('button[type=submit]');
    await page.waitForURL(`${live.gate.url}/signup`, { waitUntil: 'load' });
    const rec = await signedUp(page, live.origin);
    assert.equal(rec.path, '/signup');
    assert.equal(rec.verdict.d, 17);
    assert.equal(rec.verdict.k, 32);
    assert.deepEqual(errors, [], 'no console errors under the strict CSP');
    await context.close();
  });

  it('solves in the background once the form is focused, and announces start and done only', async () => {
    const { context, page } = await personPage(live.browser);
    await page.goto(`${live.gate.url}/signup`);
    const status = page.locator('form[data-gate] [role=status]');
    assert.equal(await status.getAttribute('aria-live'), 'polite');
    assert.equal(await page.getAttribute('form', 'data-gate-state'), 'idle');
    // record every text the live region shows: start and done, never percentages
    await page.evaluate(() => {
      window.__announced = [];
      const el = document.querySelector('form[data-gate] [role=status] span');
      new MutationObserver(() => window.__announced.push(el.textContent)).observe(el, { childList: true, characterData: true, subtree: true });
    });
    await page.focus('#email');
    await page.waitForSelector('form[data-gate-state=solved]');
    await page.screenshot({ path: path.join(SHOTS, 'done.png') });
    const announced = await page.evaluate(() => window.__announced);
    assert.deepEqual(announced, ['Verifying your browser…', 'Verified.']);
    const field = await page.inputValue('input[name=gate-solution]');
    assert.match(field, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'token.nonces.signals');
    assert.equal(await page.evaluate(() => window.gate.simd), true, 'Chromium gets the simd128 build');
    assert.equal(await page.getAttribute('form', 'data-gate-solver'), 'wasm-simd');
    await context.close();
  });

  it('works with the keyboard alone, and submitting early holds the form until solved', async () => {
    const { context, page } = await personPage(live.browser);
    await page.goto(`${live.gate.url}/signup`);
    await page.keyboard.press('Tab'); // email (first focusable after the page loads)
    await page.keyboard.type('keys@example.com');
    await page.keyboard.press('Tab');
    await page.keyboard.type('correct horse battery');
    await page.keyboard.press('Enter'); // submit right away: the widget holds it
    await signedUp(page, live.origin, 'keys@example.com');
    await context.close();
  });

  it('shows the solving state while working', async () => {
    const { context, page } = await personPage(live.browser);
    // one worker, so the solve takes a while; and what the form shows at every progress event
    await page.addInitScript(() => {
      Object.defineProperty(navigator, 'hardwareConcurrency', { get: () => 1 });
      window.__seen = [];
      document.addEventListener('gate:progress', (e) => {
        const form = e.target;
        const bar = form.querySelector('progress');
        window.__seen.push({
          state: form.getAttribute('data-gate-state'),
          text: form.querySelector('[role=status] span').textContent,
          barShown: !bar.hidden,
          value: bar.value,
          field: form.querySelector('input[name=gate-solution]').value,
        });
      });
    });
    await page.goto(`${live.gate.url}/signup`);
    assert.equal(await page.getAttribute('form', 'data-gate-state'), 'idle');
    assert.equal(await page.isHidden('form[data-gate] progress'), true, 'no progress bar before the solve starts');
    await page.focus('#email');
    await page.waitForFunction(() => window.__seen.some((s) => s.value > 0));
    await page.screenshot({ path: path.join(SHOTS, 'solving.png') });
    await page.waitForSelector('form[data-gate-state=solved]');
    const seen = await page.evaluate(() => window.__seen);
    const during = seen.filter((s) => s.value > 0 && s.value < 1);
    assert.ok(during.length > 0, JSON.stringify(seen));
    for (const s of during) {
      assert.deepEqual(s, { state: 'solving', text: 'Verifying your browser…', barShown: true, value: s.value, field: '' }, 'while solving');
    }
    assert.ok(during.every((s, i) => i === 0 || s.value >= during[i - 1].value), 'progress only moves forward');
    assert.equal(await page.textContent('form[data-gate] [role=status] span'), 'Verified.');
    assert.equal(await page.isHidden('form[data-gate] progress'), true, 'the bar goes away once solved');
    await context.close();
  });

  it('speaks the visitor\'s language (navigator.languages), or the one the site sets', async () => {
    for (const [locale, want] of [['de-DE', 'Überprüft.'], ['ja-JP', '確認が完了しました。'], ['zh-CN', '验证完成。'], ['es-MX', 'Verificado.']]) {
      const { context, page } = await personPage(live.browser, { locale });
      await page.goto(`${live.gate.url}/signup`);
      await page.focus('#email');
      await page.waitForSelector('form[data-gate-state=solved]');
      assert.equal(await page.textContent('form[data-gate] [role=status] span'), want, locale);
      await context.close();
    }
    const { context, page } = await personPage(live.browser, { locale: 'ja-JP' });
    await page.goto(`${live.gate.url}/signup`);
    // a form added later (single-page app), with the language set by the site
    await page.evaluate(() => {
      const f = document.createElement('form');
      f.id = 'late';
      f.action = '/signup';
      f.setAttribute('data-gate-lang', 'de');
      f.innerHTML = '<label for="x">Name</label><input id="x">';
      document.body.append(f);
      window.gate.attach(f);
      f.querySelector('#x').focus();
    });
    await page.waitForSelector('#late[data-gate-state=solved]');
    assert.equal(await page.textContent('#late [role=status] span'), 'Überprüft.');
    await context.close();
  });

  it('shows a clear error after retrying a failing network, and recovers on "Try again"', async () => {
    const { context, page } = await personPage(live.browser);
    let calls = 0;
    let fail = true;
    await page.route('**/__gate/challenge*', (route) => { calls++; return fail ? route.abort('connectionrefused') : route.continue(); });
    await page.goto(`${live.gate.url}/signup`);
    await fill(page);
    await page.waitForSelector('form[data-gate-state=error]', { timeout: 20_000 });
    assert.equal(calls, 5, 'five attempts with backoff before giving up');
    assert.equal(await page.textContent('form[data-gate] [role=status] span'), 'Verification failed. Check your connection and try again.');
    await page.screenshot({ path: path.join(SHOTS, 'error.png') });
    assert.deepEqual(await posts(), [], 'nothing is sent half-verified');
    fail = false;
    await page.click('form[data-gate] [role=status] button');
    await page.waitForSelector('form[data-gate-state=solved]');
    await page.click('button[type=submit]');
    await page.waitForSelector('#result');
    assert.equal((await posts()).length, 1);
    await context.close();
  });

  it('refreshes an expired challenge transparently before sending', async () => {
    const { context, page } = await personPage(live.browser);
    let challenges = 0;
    page.on('request', (r) => { if (r.url().includes('/__gate/challenge')) challenges++; });
    await page.goto(`${live.gate.url}/signup`);
    await fill(page);
    await page.waitForSelector('form[data-gate-state=solved]');
    // the TTL is 30 s and the widget refreshes with less than 15 s left: move the page's clock
    await page.evaluate(() => { const now = Date.now; Date.now = () => now() + 20_000; });
    await page.click('button[type=submit]');
    await signedUp(page, live.origin);
    assert.equal(challenges, 2);
    await context.close();
  });

  it('still works without Web Workers (solves on the page)', async () => {
    const { context, page } = await personPage(live.browser);
    await page.addInitScript(() => { window.Worker = undefined; });
    await page.goto(`${live.gate.url}/signup`);
    await fill(page);
    await page.click('button[type=submit]');
    await page.waitForSelector('#result');
    assert.equal((await posts()).length, 1);
    await context.close();
  });

  it('without WebAssembly on the page, the workers run the JavaScript solver at the same price', async () => {
    const { context, page } = await personPage(live.browser);
    const errors = errorsOf(page);
    // one worker, so the solving state stays long enough to be seen
    await page.addInitScript(() => {
      delete window.WebAssembly;
      Object.defineProperty(navigator, 'hardwareConcurrency', { get: () => 1 });
    });
    await recordSolver(page);
    await page.goto(`${live.gate.url}/signup`);
    assert.equal(await page.evaluate(() => window.gate.wasm), false);
    await page.focus('#email');
    // the status says why this takes longer; the progress bar moves
    await page.waitForFunction(() => {
      const bar = document.querySelector('form[data-gate] progress');
      const text = document.querySelector('form[data-gate] [role=status] span').textContent;
      return (bar && !bar.hidden && bar.value > 0.05 && /Without WebAssembly/.test(text)) || document.querySelector('form[data-gate-state=solved]');
    });
    if (await page.getAttribute('form', 'data-gate-state') === 'solving') await page.screenshot({ path: path.join(SHOTS, 'solving-js.png') });
    await fill(page);
    await solvedWithJavaScript(page);
    await page.click('button[type=submit]');
    const rec = await signedUp(page, live.origin);
    // the same price as everyone: a slower client does not pay less
    assert.equal(rec.verdict.d, 17);
    assert.equal(rec.verdict.k, 32);
    assert.deepEqual(errors, []);
    await context.close();
  });

  it('with JavaScript disabled, the shipped policy\'s demo pages keep the form and a code is sent after the short wait', async () => {
    // the shipped policy lists every protected route in no_js.routes (a route where it is off:
    // tests/e2e/nojs.test.mjs)
    const { context, page } = await personPage(live.browser, { javaScriptEnabled: false });
    for (const [url, shot] of [['/signup', 'nojs-form'], ['/phone', 'nojs-phone']]) {
      await page.goto(`${live.gate.url}${url}`);
      assert.ok(await page.isVisible('#gate-nojs'), url);
      assert.equal(await page.isVisible('#gate-noscript'), false, url);
      assert.ok(await page.isVisible('form[data-gate]'), `${url}: the form works without the widget`);
      await page.screenshot({ path: path.join(SHOTS, `${shot}.png`) });
    }
    // the phone page: the number, the wait page (nothing sent), Continue after the wait, the code
    await page.fill('#phone', '+44 7400 123457');
    const [wait] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    assert.equal(wait.status(), 200);
    assert.equal(await page.textContent('h1'), 'One moment, please');
    assert.deepEqual(await posts(), [], 'no code is sent before Continue');
    const secs = Number((await page.textContent('[role=status]')).match(/wait (\d+) seconds/)[1]);
    await new Promise((r) => setTimeout(r, (secs + 1) * 1000));
    const [sent] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    assert.equal(sent.status(), 200);
    await page.waitForSelector('#code');
    const [send] = await posts();
    assert.equal(send.path, '/api/otp/send');
    assert.equal(send.body, 'phone=%2B44+7400+123457', 'the number as the browser sent it, without the wait token');
    assert.equal(send.verdict.valid, true, JSON.stringify(send.verdict));
    assert.ok(send.verdict.reasons.includes('no_js'), JSON.stringify(send.verdict.reasons));
    const code = (await (await fetch(`${live.origin.url}/__origin/otp?phone=${encodeURIComponent('+447400123457')}`)).json()).code;
    await page.fill('#code', code);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    assert.equal((await page.textContent('h1')).trim(), 'Your number is verified');
    // axe-core needs script: run it on the pages' markup in a context with JavaScript on
    const { context: axeContext, page: axePage } = await personPage(live.browser);
    for (const url of ['/signup', '/phone']) {
      const html = await (await fetch(`${live.gate.url}${url}`)).text();
      // the body's <noscript> notices shown as a browser without script shows them
      await axePage.setContent(html.replace(/<noscript>(\s*<p)/, '<div>$1').replace(/(<\/p>\s*)<\/noscript>/, '$1</div>'));
      const axe = await new AxeBuilder({ page: axePage }).analyze();
      assert.deepEqual(axe.violations.map((v) => `${v.id}: ${v.help}`), [], url);
    }
    await axeContext.close();
    await context.close();
  });

  it('rejects a plain HTTP client posting the form without solving', async () => {
    const r = await fetch(`${live.gate.url}/signup`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'email=bot%40example.com&password=x' });
    assert.equal(r.status, 401);
    assert.equal((await r.json()).error, 'missing_solution');
    assert.deepEqual(await posts(), []);
  });

  it('a phone number no plan has gets a page that says so, in every language, and nothing is sent', async () => {
    for (const [locale, tag] of [['en-US', 'en'], ['de-DE', 'de'], ['es-ES', 'es'], ['ja-JP', 'ja'], ['zh-CN', 'zh-CN']]) {
      const want = JSON.parse(fs.readFileSync(path.join(ROOT, 'www', 'i18n', `${tag}.json`), 'utf8')).page.phone;
      const { context, page } = await personPage(live.browser, { locale });
      await page.goto(`${live.gate.url}/signup`);
      await fill(page);
      await page.fill('#phone', '+86 138');
      await page.waitForSelector('form[data-gate-state=solved]');
      await page.click('button[type=submit]');
      await page.waitForFunction(() => document.body && document.body.textContent.includes('invalid_phone'));
      assert.equal(await page.getAttribute('html', 'lang'), tag);
      assert.equal((await page.textContent('h1')).trim(), want.title, locale);
      assert.ok((await page.textContent('main')).includes(want.body), locale);
      await page.screenshot({ path: path.join(SHOTS, `phone-${tag}.png`) });
      const axe = await new AxeBuilder({ page }).analyze();
      assert.deepEqual(axe.violations.map((v) => `${v.id}: ${v.help}`), [], locale);
      assert.deepEqual(await posts(), [], `${locale}: nothing reached the origin`);
      if (tag === 'en') {
        // back on the form with the number corrected, the same person gets in
        await page.goBack();
        await fill(page);
        await page.fill('#phone', '+86 138 0013 8000');
        await page.waitForSelector('form[data-gate-state=solved]');
        await page.click('button[type=submit]');
        await signedUp(page, live.origin);
        await live.origin.reset();
      }
      await context.close();
    }
  });

  it('on the demo phone page a person gets a code through the gate, enters it and is verified', async () => {
    const { context, page } = await personPage(live.browser);
    const errors = errorsOf(page);
    const audit = async (name) => {
      await page.screenshot({ path: path.join(SHOTS, `demo-phone-${name}.png`) });
      const axe = await new AxeBuilder({ page }).analyze();
      assert.deepEqual(axe.violations.map((v) => `${v.id}: ${v.help}`), [], name);
    };
    await page.goto(`${live.gate.url}/phone`);
    await audit('form');
    await page.fill('#phone', '+44 7400 123456');
    await page.click('button[type=submit]');
    await page.waitForSelector('#code');
    await audit('code');
    const [send] = await posts();
    assert.equal(send.path, '/api/otp/send');
    assert.equal(send.verdict.valid, true, 'the send went through the gate with a verdict');
    const code = (await (await fetch(`${live.origin.url}/__origin/otp?phone=${encodeURIComponent('+447400123456')}`)).json()).code;
    await page.fill('#code', code);
    await page.click('button[type=submit]');
    await page.waitForSelector('#result');
    assert.equal((await page.textContent('h1')).trim(), 'Your number is verified');
    await audit('verified');
    const check = (await posts()).find((r) => r.path === '/api/otp/check');
    assert.equal(check.verdict.present, false, 'the check passed through without a verdict');
    assert.deepEqual(errors, [], 'no console errors under the strict CSP');
    await context.close();
  });

  it('sends only the phone\'s first digits with the challenge and the top-up, and solves again when its code changes', async () => {
    const { context, page } = await personPage(live.browser);
    const asked = [];
    const toppedUp = [];
    page.on('request', (r) => {
      const phone = new URL(r.url()).searchParams.get('phone');
      if (r.url().includes('/__gate/challenge')) asked.push(phone);
      if (r.url().includes('/__gate/topup')) toppedUp.push(phone);
    });
    await page.goto(`${live.gate.url}/signup`);
    await fill(page);
    await page.waitForSelector('form[data-gate-state=solved]');
    // the shipped policy counts sign-ups per calling code: the price may depend on it
    await page.fill('#phone', '+44 20 7946 0000');
    await page.focus('#email');
    await page.waitForFunction(() => document.querySelector('form[data-gate]').dataset.gateState === 'solving');
    await page.waitForSelector('form[data-gate-state=solved]');
    // changed again right before sending: the submission waits for a solution for +86
    await page.fill('#phone', '+86 138 0013 8000');
    await page.click('button[type=submit]');
    const rec = await signedUp(page, live.origin);
    // all but the last four digits, at most nine: the calling code and the range, never the number
    assert.deepEqual(asked, [null, '44207946', '861380013']);
    assert.equal(toppedUp.at(-1), '861380013', 'the top-up before the post carries the range');
    assert.match(rec.body, /phone=%2B86\+138\+0013\+8000/);
    const line = await live.gate.waitForLog((l) => l.action === 'forward' && l.phone_code === '86');
    assert.ok(line, 'the gate read the calling code from the form');
    assert.ok(!live.gate.output.text.includes('00138000'), 'never the number');
    await context.close();
  });

  it('passes the login form through untouched', async () => {
    const { context, page } = await personPage(live.browser);
    await page.goto(`${live.gate.url}/login`);
    assert.equal(await page.locator('script[src*="gate.js"]').count(), 0);
    await fill(page, 'member@example.com');
    await page.click('button[type=submit]');
    await page.waitForURL(`${live.gate.url}/account`);
    assert.match(await page.textContent('h1'), /Your account/);
    const recs = await posts();
    assert.equal(recs.length, 1);
    assert.equal(recs[0].path, '/login');
    assert.equal(recs[0].verdict.present, false);
    await context.close();
  });

  it('the demo page passes an axe-core audit in every widget state', async () => {
    const { context, page } = await personPage(live.browser);
    await page.goto(`${live.gate.url}/signup`);
    const idle = await new AxeBuilder({ page }).analyze();
    assert.deepEqual(idle.violations.map((v) => `${v.id}: ${v.help}`), []);
    await page.focus('#email');
    await page.waitForSelector('form[data-gate-state=solved]');
    const solved = await new AxeBuilder({ page }).analyze();
    assert.deepEqual(solved.violations.map((v) => `${v.id}: ${v.help}`), []);
    await page.goto(`${live.gate.url}/login`);
    const login = await new AxeBuilder({ page }).analyze();
    assert.deepEqual(login.violations.map((v) => `${v.id}: ${v.help}`), []);
    await context.close();
  });

  it('serves only the widget files under the prefix, same-origin', async () => {
    for (const f of ['gate.js', 'gate-worker.js', 'gate-solver-js.js', 'gate_solver_simd_bg.wasm', 'gate_solver_bg.wasm']) {
      const r = await fetch(`${live.gate.url}/__gate/${f}`);
      assert.equal(r.status, 200, f);
      assert.equal(r.headers.get('cross-origin-resource-policy'), 'same-origin');
    }
    assert.equal((await fetch(`${live.gate.url}/__gate/gate_solver_bg.wasm`)).headers.get('content-type'), 'application/wasm');
    assert.equal((await fetch(`${live.gate.url}/__gate/.stamp`)).status, 404);
    assert.equal((await fetch(`${live.gate.url}/gate.js`)).status, 200, 'root paths go to the origin (its echo), not to the assets');
    const echoed = (await live.origin.records()).find((r) => r.path === '/gate.js');
    assert.ok(echoed, 'the origin saw /gate.js');
  });
});

describe('the widget without WebAssembly (the JavaScript solver)', () => {
  // a small price: a browser without a JIT hashes ~50x slower than one with it
  const live = liveGate({ browser: true, worker: { vars: { POLICY: testPolicy({ difficulty: 12, k: 8 }) } } });

  const posts = () => live.origin.posts();

  it('in a browser without a JIT or WebAssembly (Chromium --jitless, like iOS Lockdown Mode), the JavaScript solver signs the person up', async () => {
    const noWasm = await launchWithoutWasm();
    try {
      const { context, page } = await personPage(noWasm);
      const errors = errorsOf(page);
      await recordSolver(page);
      await page.goto(`${live.gate.url}/signup`);
      assert.equal(await page.evaluate(() => typeof WebAssembly), 'undefined', '--jitless took WebAssembly away');
      assert.equal(await page.evaluate(() => window.gate.wasm), false);
      await fill(page);
      await solvedWithJavaScript(page);
      await page.click('button[type=submit]');
      const rec = await signedUp(page, live.origin);
      // the route's price, as for everyone
      assert.equal(rec.verdict.d, 12);
      assert.equal(rec.verdict.k, 8);
      assert.deepEqual(errors, []);
      await context.close();
    } finally {
      await noWasm.close();
    }
  });

  it('with a CSP without \'wasm-unsafe-eval\', compiling the solver fails and the JavaScript solver takes over', async () => {
    const { context, page } = await personPage(live.browser);
    // what a site whose CDN puts one strict policy on every response would send: the page and
    // the widget's worker script both refuse WebAssembly compilation
    const strict = "default-src 'self'; script-src 'self'; worker-src 'self'; connect-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'";
    const withPolicy = async (route) => {
      if (route.request().method() !== 'GET') return route.continue(); // the form post itself goes as is
      const resp = await route.fetch();
      const headers = { ...resp.headers(), 'content-security-policy': strict };
      await route.fulfill({ response: resp, headers });
    };
    await page.route(`${live.gate.url}/signup`, withPolicy);
    await page.route('**/__gate/gate-worker.js', withPolicy);
    await recordSolver(page);
    await page.goto(`${live.gate.url}/signup`);
    assert.equal(await page.evaluate(() => typeof WebAssembly), 'object', 'WebAssembly exists; only compiling is refused');
    await fill(page, 'csp@example.com');
    await solvedWithJavaScript(page);
    await page.click('button[type=submit]');
    await signedUp(page, live.origin, 'csp@example.com');
    await context.close();
  });

  it('without WebAssembly and without Web Workers, solves with JavaScript on the page', async () => {
    const { context, page } = await personPage(live.browser);
    await page.addInitScript(() => { delete window.WebAssembly; window.Worker = undefined; });
    await recordSolver(page);
    await page.goto(`${live.gate.url}/signup`);
    await page.focus('#email');
    await solvedWithJavaScript(page);
    await fill(page);
    await page.click('button[type=submit]');
    await signedUp(page, live.origin);
    await context.close();
  });

  it('when no solver can load at all, explains why and never sends the form', async () => {
    const { context, page } = await personPage(live.browser);
    await page.addInitScript(() => { delete window.WebAssembly; window.Worker = undefined; });
    await page.route('**/__gate/gate-solver-js.js', (route) => route.abort('blockedbyclient'));
    await page.goto(`${live.gate.url}/signup`);
    await fill(page);
    await page.waitForSelector('form[data-gate-state=error]');
    assert.match(await page.textContent('form[data-gate] [role=status] span'), /can't run the security check/);
    await page.click('button[type=submit]');
    await page.waitForTimeout(500);
    assert.deepEqual(await posts(), []);
    await context.close();
  });

});

describe('the widget while sign-up is shed ("registration busy")', () => {
  // the shipped policy with its panic switch thrown
  const policy = fs.readFileSync(path.join(ROOT, 'policy', 'gate.toml'), 'utf8').replace(/^panic = false$/m, 'panic = true');
  before(() => assert.match(policy, /^panic = true$/m));
  const live = liveGate({ browser: true, reset: false, worker: { vars: { POLICY: policyJson(policy) } } });

  it('says so in the visitor\'s language without hammering the gate; logging in works', async () => {
    const { context, page } = await personPage(live.browser, { locale: 'zh-CN' });
    let calls = 0;
    page.on('request', (r) => { if (r.url().includes('/__gate/challenge')) calls++; });
    await page.goto(`${live.gate.url}/signup`);
    await page.fill('#email', 'person@example.com');
    await page.waitForSelector('form[data-gate-state=error]');
    assert.equal(await page.textContent('form[data-gate] [role=status] span'), '注册繁忙，请几分钟后再试。登录不受影响。');
    await page.screenshot({ path: path.join(SHOTS, 'busy.png') });
    await page.fill('#password', 'correct horse battery');
    await page.click('button[type=submit]');
    await page.waitForTimeout(1000);
    assert.equal(calls, 2, 'one request per attempt, no retry storm');
    assert.deepEqual((await live.origin.records()).filter((r) => r.method === 'POST'), []);
    await page.goto(`${live.gate.url}/login`);
    await page.fill('#email', 'member@example.com');
    await page.fill('#password', 'correct horse battery');
    await page.click('button[type=submit]');
    await page.waitForURL(`${live.gate.url}/account`);
    assert.deepEqual((await live.origin.records()).filter((r) => r.method === 'POST').map((r) => r.path), ['/login']);
    await context.close();
  });
});

describe('widget payload', () => {
  it(`what a simd128 browser downloads for the widget is at most the aim in gzip`, async () => {
    // www/dist as scripts/build-widget built it (scripts/test e2e builds it first); the same
    // files the widget benchmark counts, the largest translation included
    const { ourPayload, PAYLOAD_AIM_KB } = await import('../../bench/browser/payload.mjs');
    const payload = ourPayload();
    const files = payload.files.map((f) => `${f.path} ${f.gzip}`).join(', ');
    assert.ok(payload.gzip <= PAYLOAD_AIM_KB * 1024, `${payload.gzip} bytes gzip over ${PAYLOAD_AIM_KB} kB: ${files}`);
  });
});
