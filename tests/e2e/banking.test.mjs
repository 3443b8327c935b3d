// Banked effort in a real browser: headless Chromium + wrangler dev + the demo origin.
// 1. The price rises while a person fills the form (other Chrome sign-ups push the Chrome
//    cohort up a level); the person presses submit once: the widget tops up what was solved
//    before (one challenge, never fetched again), one sign-up reaches the origin, no error page.
// 2. With a capacity route over its capacity the gate suggests more work than it asks: the
//    widget banks toward it with one worker while the person types, and pauses while the tab
//    is hidden.
// 3. The origin is down when a sign-up is forwarded: 502 origin_unavailable, the ledger row is
//    given back, and the same solution goes through once the origin is back (once only).
// 4. The price rises past the one bit of slack after the widget's last top-up answer: the post
//    is answered 402 with the gate's top-up page (in every language: working, sending, and
//    Continue when its solver cannot load), whose widget adds the rest and posts the form by
//    itself; a form with a file gets the retry page. A person who presses the back button
//    while the page works finds the form with the work kept (the page's cookie): one
//    challenge, one sign-up, for each of two people.
// 5. The price rises again while the widget solves the top-up asked on submit: the widget asks
//    again before the form goes, so the post is never answered 402 (a retry page).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { liveGate, testPolicy, gateCli, solved, startOrigin, ROOT } from './harness.mjs';
import { CHROME, personHeaders } from './clients.mjs';
import { person, chromeUserAgent, postAsForm } from './browser.mjs';

const ATTACK = [
  'enabled = true', 'window_secs = 120', 'cohorts = ["ua_family"]',
  // (ua_family has levels of its own by default, for real traffic's broad cohorts)
  // (a bit a level, up to the most a level adds: the fourth and fifth tests' rises, which run
  // last for that reason, take three bits or more each)
  'cohort_levels = { ua_family = [{ at = 2, extra_bits = 3 }, { at = 5, extra_bits = 4 }, { at = 8, extra_bits = 5 }, { at = 11, extra_bits = 6 }, { at = 14, extra_bits = 7 }, { at = 17, extra_bits = 8 }, { at = 20, extra_bits = 9 }, { at = 23, extra_bits = 10 }, { at = 26, extra_bits = 11 }, { at = 29, extra_bits = 12 }, { at = 32, extra_bits = 13 }, { at = 35, extra_bits = 14 }, { at = 38, extra_bits = 15 }] }',
  '[[attack.capacity]]', 'route = "/api/register"', 'signups_per_minute = 2', 'ceiling_bits = 6', 'period_secs = 1',
].join('\n');

/** The widget signals of browser.mjs's person (Chromium on Linux in Austin, en-US). */
function personSignals(ua) {
  const major = ua.match(/Chrome\/(\d+)/)[1];
  return {
    v: 1, webdriver: false, automation: [], softwareRenderer: false, outer: [1280, 800], screen: [1280, 800],
    timeZone: 'America/Chicago', languages: ['en-US'], plugins: 5,
    uaData: { brands: [['Chromium', major], ['Not:A-Brand', '24']], mobile: false, platform: 'Linux' }, cores: 2, rtt: 1,
  };
}

describe('banked effort in the browser', () => {
  // Chrome pays more on the capacity route, so banking toward its suggestion takes a while
  const RULES = '[[rules]]\nname = "chrome registers dearer"\nroutes = ["/api/register"]\nwhen = { user_agent = ["*Chrome/*"] }\naction = "challenge"\ndifficulty = 16';
  const live = liveGate({ worker: { vars: { POLICY: testPolicy({ difficulty: 4, k: 8, attack: ATTACK, rules: RULES }) } }, browser: true });

  /**
   * A scripted sign-up with this User-Agent, forwarded by the gate: a script that sends the
   * headers and widget signals of the browser.mjs person's Chrome (so the gate prices it at
   * submission as it did at issue), solved natively.
   */
  async function scripted(route, ua, n) {
    const headers = ua.includes('Chrome/') ? personHeaders(ua) : { 'User-Agent': ua };
    const signals = ua.includes('Chrome/') ? JSON.stringify(personSignals(ua)) : '';
    const q = new URLSearchParams({ route, ...(signals && { signals: Buffer.from(signals).toString('base64url') }) });
    const issued = await fetch(`${live.gate.url}/__gate/challenge?${q}`, { headers: { ...headers, ...CHROME.fetch } });
    assert.equal(issued.status, 200, `scripted challenge ${n}: ${await issued.clone().text()}`);
    const sol = await gateCli('solve', '--token', (await issued.json()).token, '--signals', signals);
    const r = await fetch(`${live.gate.url}${route}`, {
      method: 'POST',
      headers: { ...headers, ...CHROME.submit, Origin: live.gate.url },
      body: new URLSearchParams({ email: `script${n}@example.com`, password: 'x', 'gate-solution': sol }),
    });
    assert.ok(r.status < 400, `scripted sign-up ${n}: ${r.status} ${await r.text()}`);
  }

  /** The difficulty the person's Chrome is asked on /signup now (as the widget's challenge request). */
  async function askedNow() {
    const ua = chromeUserAgent(live.browser);
    const q = new URLSearchParams({ route: '/signup', signals: Buffer.from(JSON.stringify(personSignals(ua))).toString('base64url') });
    const r = await fetch(`${live.gate.url}/__gate/challenge?${q}`, { headers: { ...personHeaders(ua), ...CHROME.fetch } });
    return (await r.json()).difficulty;
  }
  let scriptedN = 100;
  /** Chrome sign-ups from elsewhere until `done()` (bounded): the Chrome cohort a level up. */
  async function raiseUntil(done, what) {
    const ua = chromeUserAgent(live.browser);
    for (let i = 0; i < 30 && !(await done()); i++) await scripted('/signup', ua, scriptedN++);
    assert.ok(await done(), what);
  }
  /** The work the top-up request `route` holds is asked now (the same request sent again). */
  async function askedAgain(route) {
    return (await (await route.fetch()).json()).work.asked;
  }

  /** A sign-up form's post (a request). */
  const signUp = (r) => new URL(r.url()).pathname === '/signup' && r.method() === 'POST';

  /** What `page` asks of the gate and posts: challenges and top-ups asked, each sign-up post's solution and status. */
  function watch(page) {
    const seen = { challenge: 0, topup: 0, posts: [], statuses: [] };
    page.on('request', (r) => {
      const path = new URL(r.url()).pathname;
      if (path === '/__gate/challenge') seen.challenge++;
      if (path === '/__gate/topup') seen.topup++;
      if (signUp(r)) seen.posts.push(new URLSearchParams(r.postData() || '').get('gate-solution') || '');
    });
    page.on('response', (r) => {
      if (signUp(r.request())) seen.statuses.push(r.status());
    });
    return seen;
  }

  /**
   * Submits each page's form while the gate's last answer before its post (nothing missing)
   * is held, until other Chrome sign-ups have raised the same request's price past the one bit
   * of slack: every post is answered 402, the retry page, which names the unspent challenge in
   * a cookie.
   */
  async function postsMeetARise(pages, workers = { held: [], released: false }) {
    const held = [];
    // the top-up page's workers are held from the moment the posts may go until the caller
    // lets them go (`workers.released`, then each held one continued): the pages stay working
    let armed = false;
    for (const page of pages) {
      await page.route('**/__gate/gate-worker.js', (route) => (armed && !workers.released ? workers.held.push(route) : route.continue()));
    }
    let release;
    const raised = new Promise((resolve) => { release = resolve; });
    let allHeld;
    const holding = new Promise((resolve) => { allHeld = resolve; });
    for (const page of pages) {
      let once = false;
      await page.route('**/__gate/topup*', async (route) => {
        const answer = await route.fetch();
        const body = await answer.json();
        if (!once && !body.topup) {
          once = true;
          held.push({ route, paid: body.paid });
          if (held.length === pages.length) allHeld();
          await raised;
        }
        await route.fulfill({ response: answer });
      });
    }
    let posted = [];
    try {
      for (const page of pages) await page.click('button[type=submit]');
      let timer;
      const late = new Promise((resolve) => { timer = setTimeout(resolve, 60_000); });
      await Promise.race([holding, late]);
      clearTimeout(timer); // (a pending timer would hold the test process open)
      assert.equal(held.length, pages.length, 'every page asked the price before its post');
      // (past the one bit of slack, past what a form post may be priced below its top-up
      // request, as they differ in a few headers, and a level more: the price relaxes as the
      // counts age, and the same post is sent again in five languages after these)
      const paid = Math.max(...held.map((h) => h.paid));
      await raiseUntil(async () => (await askedAgain(held[0].route)) > 16 * paid, 'the price rose past the slack');
      // (no post goes before its held answer is let through)
      posted = pages.map((page) => page.waitForResponse((r) => signUp(r.request())));
      for (const p of posted) p.catch(() => {}); // each is awaited below; a later one may fail first
    } finally {
      armed = true;
      release();
    }
    for (const [n, page] of pages.entries()) {
      assert.equal((await posted[n]).status(), 402, 'the post met the price of a moment later');
      await page.waitForSelector('form[data-gate-topup][data-gate-state=solving]', { state: 'attached' });
      await page.unroute('**/__gate/topup*');
      const cookie = (await page.context().cookies()).find((c) => c.name === 'gate-unspent');
      assert.ok(cookie, 'the page named the unspent challenge');
    }
  }

  /** `page` is the top-up page in `tag`'s words, in state `state` (its status text `key`): screenshot, axe-core clean. */
  async function topUpPageSays(page, tag, state, key) {
    const want = JSON.parse(fs.readFileSync(path.join(ROOT, 'www', 'i18n', `${tag}.json`), 'utf8')).page.topup;
    await page.waitForSelector(`form[data-gate-topup][data-gate-state=${state}]`, { state: 'attached' });
    assert.equal(await page.getAttribute('html', 'lang'), tag);
    assert.equal((await page.textContent('h1')).trim(), want.title, tag);
    assert.equal((await page.textContent('[role=status]')).trim(), want[key], `${tag} ${state}`);
    assert.equal(await page.isVisible('form button'), state === 'error', `${tag} ${state}: Continue only when the page could not finish`);
    assert.equal(await page.isVisible('#gate-wait-kept'), state !== 'sending', `${tag} ${state}: "nothing has been sent yet" until the form goes`);
    const name = state === 'solving' ? `topup-${tag}` : `topup-${state}-${tag}`;
    await page.screenshot({ path: path.join(ROOT, 'docs', 'screenshots', `${name}.png`) });
    const axe = await new AxeBuilder({ page }).analyze();
    assert.deepEqual(axe.violations.map((v) => `${v.id}: ${v.help}`), [], `${tag} ${state}`);
  }

  /** `page` is the retry page of a price that moved, in `tag`'s words: screenshot, axe-core clean. */
  async function saysMoreWork(page, tag) {
    const want = JSON.parse(fs.readFileSync(path.join(ROOT, 'www', 'i18n', `${tag}.json`), 'utf8')).page.more_work;
    assert.equal(await page.getAttribute('html', 'lang'), tag);
    assert.equal((await page.textContent('h1')).trim(), want.title, tag);
    const main = await page.textContent('main');
    assert.ok(main.includes(want.body), tag);
    assert.ok(main.includes('more_work'), tag);
    await page.screenshot({ path: path.join(ROOT, 'docs', 'screenshots', `more-work-${tag}.png`) });
    const axe = await new AxeBuilder({ page }).analyze();
    assert.deepEqual(axe.violations.map((v) => `${v.id}: ${v.help}`), [], tag);
  }

  /** A person's Chrome on the sign-up form, its first focus solved; `seen` is `watch(page)`. */
  async function solvedOnTheForm() {
    const context = await person(live.browser);
    const page = await context.newPage();
    const seen = watch(page);
    await page.goto(`${live.gate.url}/signup`);
    await page.focus('#email');
    await page.waitForSelector('form[data-gate-state=solved]');
    return { context, page, seen };
  }

  /** The sign-ups with this email that reached the origin. */
  async function signUpsOf(email) {
    return (await live.origin.records()).filter((r) => r.method === 'POST' && String(r.body || '').includes(encodeURIComponent(email)));
  }

  it('a price that rose while the form was filled is topped up: one submit, one sign-up, no error page', async () => {
    const { context, page, seen: asked } = await solvedOnTheForm();
    const solvedBefore = await page.inputValue('input[name=gate-solution]');
    // meanwhile, three Chrome sign-ups from elsewhere: the Chrome cohort is a level up (+3 bits)
    const ua = chromeUserAgent(live.browser);
    for (let n = 0; n < 3; n++) await scripted('/signup', ua, n);
    await page.fill('#email', 'person@example.com');
    await page.fill('#password', 'correct horse battery');
    await page.click('button[type=submit]');
    await page.waitForURL(`${live.gate.url}/signup`, { waitUntil: 'load' });
    await page.waitForSelector('#result');
    assert.equal(await page.textContent('#result'), 'Signed up as person@example.com', 'the origin answered, not an error page');
    const mine = await signUpsOf('person@example.com');
    assert.equal(mine.length, 1, 'exactly one sign-up reached the origin');
    assert.equal(mine[0].verdict.valid, true);
    assert.equal(asked.challenge, 1, 'the work done before the rise was kept: no second challenge');
    assert.ok(asked.topup >= 1, 'the price was asked again before the post');
    assert.ok(asked.posts[0].startsWith(`${solvedBefore}~`), 'the post carried the work solved before the rise, and a top-up');
    await context.close();
  });

  it('banks toward the suggestion with one worker while typing, and pauses while the tab is hidden', async () => {
    // the capacity route over its capacity (scripted sign-ups of another cohort): the
    // controller raises, and forecasts more for everyone for a minute
    for (let n = 0; n < 6; n++) await scripted('/api/register', 'gate-e2e/1.0', 10 + n);
    // the controller acts once its isolate has read the counts (a flush and a period later):
    // wait, bounded, until a challenge as the person would fetch it carries the forecast
    const ua = chromeUserAgent(live.browser);
    const q = new URLSearchParams({ route: '/api/register', signals: Buffer.from(JSON.stringify(personSignals(ua))).toString('base64url') });
    let ahead = null;
    for (let i = 0; i < 60 && !ahead; i++) {
      const r = await fetch(`${live.gate.url}/__gate/challenge?${q}`, { headers: { ...personHeaders(ua), ...CHROME.fetch } });
      const work = (await r.json()).work;
      if (work && work.suggested > work.asked) ahead = work;
      else await new Promise((res) => setTimeout(res, 250));
    }
    assert.ok(ahead, 'the capacity route over its capacity makes the gate forecast a higher price');
    const context = await person(live.browser);
    const page = await context.newPage();
    const offers = [];
    page.on('response', async (r) => {
      const u = new URL(r.url());
      if (u.pathname === '/__gate/challenge' || u.pathname === '/__gate/topup') offers.push({ path: u.pathname, body: await r.json() });
    });
    await page.goto(`${live.gate.url}/signup`);
    // a form for the capacity route, attached like the demo's; every change of the banking
    // state is recorded with the workers it holds at that moment, and the workers are sampled
    await page.evaluate(() => {
      const f = document.createElement('form');
      f.method = 'post';
      f.action = '/api/register';
      f.id = 'register';
      f.innerHTML = '<input name="email" id="remail">';
      document.body.append(f);
      window.banking = { states: [], most: { banking: 0, paused: 0 } };
      new MutationObserver(() => {
        window.banking.states.push([f.getAttribute('data-gate-bank'), window.gate.bank.threads]);
      }).observe(f, { attributes: true, attributeFilter: ['data-gate-bank'] });
      setInterval(() => {
        const { state, threads } = window.gate.bank;
        if (state in window.banking.most) window.banking.most[state] = Math.max(window.banking.most[state], threads);
      }, 5);
      window.gate.attach(f);
    });
    // the tab is hidden from the first focus: the solve goes on, banking waits with no worker
    const hide = (hidden) => page.evaluate((h) => {
      Object.defineProperty(document, 'hidden', { value: h, configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
    }, hidden);
    await page.focus('#remail');
    await hide(true);
    await page.waitForSelector('#register[data-gate-state=solved]', { timeout: 60_000 });
    const issued = offers.find((o) => o.path === '/__gate/challenge').body;
    const { work } = issued;
    assert.ok(work.suggested > work.asked, `the gate suggests banking ahead: ${JSON.stringify(work)}`);
    await page.waitForSelector('#register[data-gate-bank=paused]', { timeout: 30_000 });
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => window.gate.bank.threads), 0, 'no worker while hidden');
    assert.equal(await page.inputValue('#register input[name=gate-solution]').then((v) => v.includes('~')), false, 'nothing banked while hidden');
    // shown again: banking goes on with one worker, up to the suggestion and no further
    await hide(false);
    await page.waitForSelector('#register[data-gate-bank=done]', { timeout: 60_000 });
    const seen = await page.evaluate(() => window.banking);
    const states = seen.states.map(([state]) => state).filter((state, i, all) => state !== all[i - 1]);
    assert.deepEqual(states, ['paused', 'banking', 'done'], 'paused, then banked once shown, then stopped');
    assert.deepEqual(seen.states.find(([state]) => state === 'banking'), ['banking', 1], 'one worker when banking starts');
    assert.equal(seen.most.banking, 1, 'never more than one worker while banking');
    assert.equal(seen.most.paused, 0, 'no worker while paused');
    // the solution now carries the banked work: the challenge's and the top-up's reach the
    // suggestion, and stop within one of the top-up's sub-puzzles of it (the suggestion as the
    // top-up answer has it: the forecast may have relaxed since the challenge, on a slow machine)
    const answer = offers.find((o) => o.path === '/__gate/topup')?.body;
    const offer = answer?.topup;
    assert.ok(offer, 'a top-up was offered to bank toward');
    const target = Math.max(answer.work.asked, Math.min(work.suggested, answer.work.suggested));
    const solution = await page.inputValue('#register input[name=gate-solution]');
    const [first, part] = solution.split('~');
    assert.equal(solution.split('~').length, 2, 'one banked top-up');
    assert.equal(part.split('.')[0], offer.token);
    const banked = Buffer.from(part.split('.')[1], 'base64url').length / 8;
    assert.ok(solution.startsWith(`${first}~`) && first.startsWith(issued.token));
    const paid = issued.k * 2 ** issued.difficulty + banked * offer.each;
    assert.ok(paid >= target && paid < target + offer.each, `banked ${paid} toward ${target} (${JSON.stringify(answer.work)})`);
    await context.close();
  });

  it('a sign-up whose origin was down is answered 502 origin_unavailable and goes through once with the same work', async () => {
    const ua = 'retry-client/1.0';
    const solution = await solved(live.gate.url, '/signup', ua);
    const post = () => fetch(`${live.gate.url}/signup`, {
      method: 'POST',
      headers: { 'User-Agent': ua, Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email: 'retry@example.com', password: 'x', 'gate-solution': solution }),
    });
    // the origin goes down: the forward fails, the client is told to retry, the work is kept
    const port = Number(new URL(live.origin.url).port);
    await live.origin.stop();
    const down = await post();
    assert.equal(down.status, 502);
    const why = await down.json();
    assert.equal(why.error, 'origin_unavailable', JSON.stringify(why));
    assert.ok(why.message, 'a message a person can read');
    // back on the same address (the Worker's ORIGIN): the same solution is forwarded, once
    live.origin = await startOrigin({ originSecret: live.originSecret, port });
    const again = await post();
    assert.equal(again.status, 201, `the retry with the same work is forwarded: ${again.status} ${await again.clone().text()}`);
    const replay = await post();
    assert.equal(replay.status, 409, 'a sign-up the origin accepted stays spent');
    assert.equal((await replay.json()).error, 'already_spent');
    const mine = (await live.origin.posts('/signup')).filter((r) => String(r.body || '').includes('retry%40example.com'));
    assert.equal(mine.length, 1, 'exactly one sign-up reached the origin');
    assert.equal(mine[0].verdict.valid, true);
  });
  it('a post answered 402 gets a page that adds the rest and posts the form by itself (in every language, every state); back by the back button the form takes up the kept work: one challenge, one sign-up each', async () => {
    // two people on the form: one lets the page finish; the other presses the back button while
    // it works (the form again from history: Playwright's pages never enter the back/forward
    // cache, so the widget's pageshow path is not played here)
    const people = [];
    for (const email of ['topped@example.com', 'history@example.com']) {
      const { context, page, seen } = await solvedOnTheForm();
      await page.fill('#email', email);
      await page.fill('#password', 'correct horse battery');
      people.push({ email, context, page, seen });
    }
    const workers = { held: [], released: false };
    await postsMeetARise(people.map((p) => p.page), workers);
    const [topped, byBackButton] = people;
    // the page in every language and state: the same post sent again by a browser in each
    // locale gets it again (the challenge stays unspent), (1) working, (2) sending (the post
    // held, then dropped), (3) a page whose solver cannot load (Continue comes back); and the
    // retry page, for a form the page cannot carry (a file field)
    // (all at once: the price relaxes as the counts age, and each must still meet it)
    const first = topped.seen.posts[0];
    // (a field named "submit", as a form's button often is, shadows the form's own method)
    const fields = [['email', topped.email], ['password', 'correct horse battery'], ['submit', 'Sign up'], ['gate-solution', first]];
    await Promise.all([['en-US', 'en'], ['de-DE', 'de'], ['es-ES', 'es'], ['ja-JP', 'ja'], ['zh-CN', 'zh-CN']].map(async ([locale, tag]) => {
      const other = await person(live.browser, { locale });
      try {
        /** A new page of `other` that posts the first post's fields again: answered 402. */
        const postedAgain = async (prepare, post = (page) => postAsForm(page, '/signup', fields)) => {
          const page = await other.newPage();
          await prepare(page);
          await page.goto(`${live.gate.url}/login`);
          const answered = page.waitForResponse((r) => signUp(r.request()));
          await post(page);
          assert.equal((await answered).status(), 402, `${locale}: the price still asks more`);
          return page;
        };
        // (the three at once: the price relaxes as the counts age, and each must still meet it)
        const held = [];
        let holding = true;
        const [working, failing, retry] = await Promise.all([
          postedAgain(async (page) => {
            await page.route('**/__gate/gate-worker.js', (route) => (holding ? held.push(route) : route.continue()));
            // (on the page the post answered, the form's submit is kept from navigating, so
            // the sending state stays to be seen: a held navigation blocks the page for Playwright)
            await page.addInitScript(() => {
              if (location.pathname === '/signup') HTMLFormElement.prototype.submit = function () { this.setAttribute('data-test-submitted', 'true'); };
            });
          }),
          postedAgain((page) => page.route(/\/__gate\/(gate-worker\.js|gate_solver.*|gate-solver-js\.js)$/, (route) => route.abort())),
          // a form with a file: the page cannot carry it, so the retry page
          postedAgain(async () => {}, (page) => page.evaluate(({ fields }) => {
            const f = document.createElement('form');
            Object.assign(f, { method: 'post', action: '/signup', enctype: 'multipart/form-data' });
            for (const [name, value] of fields) f.append(Object.assign(document.createElement('input'), { type: 'hidden', name, value }));
            const file = Object.assign(document.createElement('input'), { type: 'file', name: 'avatar' });
            const picked = new DataTransfer();
            picked.items.add(new File(['PNG'], 'a.png', { type: 'image/png' }));
            file.files = picked.files;
            f.append(file);
            document.body.append(f);
            HTMLFormElement.prototype.submit.call(f);
          }, { fields })),
        ]);
        await topUpPageSays(working, tag, 'solving', 'body');
        holding = false;
        for (const route of held) await route.continue();
        await working.waitForSelector('form[data-test-submitted=true]', { state: 'attached' });
        const carried = await working.inputValue('input[name=gate-solution]');
        assert.ok(carried.startsWith(`${first}~`), `${tag}: the page adds a top-up to the work posted`);
        await topUpPageSays(working, tag, 'sending', 'sending');
        await topUpPageSays(failing, tag, 'error', 'failed');
        await retry.waitForSelector('main >> text=more_work');
        await saysMoreWork(retry, tag);
      } finally {
        await other.close();
      }
    }));
    // the browser's back button while the page works: the form as the person left it, the work kept
    await byBackButton.page.goBack();
    assert.equal(await byBackButton.page.evaluate(() => performance.getEntriesByType('navigation')[0].type), 'back_forward');
    assert.equal(await byBackButton.page.inputValue('#email'), byBackButton.email, 'back by the back button, the form as it was left');
    await byBackButton.page.waitForSelector('form[data-gate-state=solved][data-gate-restored=true]');
    assert.equal((await byBackButton.context.cookies()).some((c) => c.name === 'gate-unspent'), false, 'the cookie is read once');
    workers.released = true;
    await byBackButton.page.fill('#password', 'correct horse battery');
    await byBackButton.page.click('button[type=submit]');
    // the other page goes on: nobody presses anything
    for (const route of workers.held) await route.continue().catch(() => {}); // (the page left by the back button has none to take)
    for (const { email, context, page, seen } of people) {
      await page.waitForSelector('#result', { timeout: 60_000 });
      assert.equal(await page.textContent('#result'), `Signed up as ${email}`);
      assert.equal(seen.statuses.length, 2, email);
      assert.ok(seen.statuses[1] < 400, `the second post was admitted: ${seen.statuses}`);
      assert.equal(seen.challenge, 1, `${email}: one challenge in all, the work was kept`);
      assert.ok(seen.posts[1].startsWith(`${seen.posts[0]}~`) || (page === byBackButton.page && seen.posts[1] === seen.posts[0]), `${email}: the second post carries the first one's work and a top-up`);
      assert.equal((await signUpsOf(email)).length, 1, `${email}: exactly one sign-up reached the origin`);
    }
    assert.equal((await topped.context.cookies()).some((c) => c.name === 'gate-unspent'), false, 'the page cleared the cookie as the form went');
    for (const { context } of people) await context.close();
  });

  it('a price that rose again while the top-up was solved is asked again before the form goes: no retry page', async () => {
    const { context, page, seen } = await solvedOnTheForm();
    const solvedBefore = await page.inputValue('input[name=gate-solution]');
    // while the form is filled the price rises a level (the top-up asked on submit pays it) ...
    const before = await askedNow();
    await raiseUntil(async () => (await askedNow()) > before, 'the Chrome cohort is a level up');
    // ... and rises again between the gate's answer to that top-up and the widget's solving
    // it: more Chrome sign-ups until the same top-up request is asked more work (bounded)
    let armed = false;
    const rise = { before: 0, after: 0 };
    await page.route('**/__gate/topup*', async (route) => {
      if (!armed || rise.before) return route.continue();
      const answer = await route.fetch();
      const first = await answer.json();
      // what the bundle pays once this answer's top-up is solved: the price must pass twice
      // that (the one bit of slack), and what a form post may be priced below its top-up
      // request, for the post to be refused without the second ask, and a level more: the
      // price relaxes as the counts age while the widget solves (seconds on a busy machine)
      rise.before = first.paid + first.topup.k * first.topup.each;
      await raiseUntil(async () => {
        rise.after = await askedAgain(route);
        return rise.after > 16 * rise.before;
      }, 'the same top-up request is asked more than the slack allows');
      await route.fulfill({ response: answer });
    });
    await page.fill('#email', 'again@example.com');
    await page.fill('#password', 'correct horse battery');
    armed = true;
    await page.click('button[type=submit]');
    await page.waitForURL(`${live.gate.url}/signup`, { waitUntil: 'load' });
    await page.waitForSelector('#result', { timeout: 60_000 });
    assert.ok(rise.after > 8 * rise.before, `the price rose while the top-up was being solved: ${JSON.stringify(rise)}`);
    assert.equal(await page.textContent('#result'), 'Signed up as again@example.com', 'the origin answered, not a retry page');
    assert.deepEqual(seen.statuses.filter((s) => s >= 400), [], 'no post was refused');
    assert.equal((await signUpsOf('again@example.com')).length, 1, 'exactly one sign-up reached the origin');
    assert.equal(seen.challenge, 1, 'one challenge: the work before both rises was kept');
    assert.ok(seen.topup >= 2, `the price was asked again after the top-up was solved (${seen.topup} asks)`);
    assert.equal(seen.posts.length, 1, 'one post');
    const solution = seen.posts[0];
    assert.ok(solution.startsWith(`${solvedBefore}~`), 'the post carried the work solved before the rises');
    assert.ok(solution.split('~').length >= 3, `and a top-up for each rise: ${solution.split('~').length - 1} top-ups, ${seen.topup} asks`);
    await context.close();
  });
});
