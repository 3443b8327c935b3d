// The waiting line end to end (docs/attack-mode.md § The waiting line): one wrangler dev whose
// policy gives /signup a small capacity (20 a minute) and a line, the real demo origin, real
// Chromium. A burst of scripted clients fills the capacity; the rest of the burst waits with
// nothing spent; a copied place is refused; two dozen people then sign up through the widget
// and are admitted in turn with their fields intact, shown their place, never "busy"; a form a
// browser posts before its turn gets a page that keeps it; the CLI waits its turn. The origin's
// own record is the judge of the rate it received.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { liveGate, testPolicy, challenge, gateCliResult, ROOT } from './harness.mjs';
import { person, chromeUserAgent, postAsForm } from './browser.mjs';
import { CHROME, personHeaders } from './clients.mjs';
import { solve, solution, unb64 } from './protocol.mjs';

const SHOTS = path.join(ROOT, 'docs', 'screenshots');
const CAPACITY = 20;
const PEOPLE = Number(process.env.LINE_PEOPLE || 24);
const BOTS = 32;
/** Scripted clients in flight at once: each forward takes its place in the isolate's exact
 * minute as its spend comes back, so these never pass the capacity together; the shared
 * decaying count is read before, and can pass it by these (docs/attack-mode.md). */
const IN_FLIGHT = 4;
const LOCALES = [['en-US', 'en'], ['de-DE', 'de'], ['es-ES', 'es'], ['ja-JP', 'ja'], ['zh-CN', 'zh-CN']];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The origin's sign-ups (verified POST /signup), oldest first. */
async function signups(origin) {
  return (await origin.posts('/signup')).filter((r) => r.verdict.valid).sort((a, b) => a.at_ms - b.at_ms);
}

/** The rate the origin received as the gate measures it: before each arrival, every earlier
 * one decayed over a minute (exp(-age/60 s)); the largest such count. */
function peakMinuteCount(records) {
  let peak = 0;
  records.forEach((r, i) => {
    const before = records.slice(0, i).reduce((sum, e) => sum + Math.exp(-(r.at_ms - e.at_ms) / 60_000), 0);
    peak = Math.max(peak, before);
  });
  return peak;
}

/** The most arrivals in any 60 s sliding window. */
function peakSlidingMinute(records) {
  let peak = 0;
  for (let i = 0, j = 0; i < records.length; i++) {
    while (records[i].at_ms - records[j].at_ms >= 60_000) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return peak;
}

describe('the waiting line: a small capacity, a burst of scripts and two dozen people', () => {
  // a 2 s controller period, so the line opens within the test's first seconds
  const policy = testPolicy({
    attack: 'enabled = true\nwindow_secs = 60\ncohorts = ["asn"]\nlevels = [{ at = 100000, extra_bits = 1 }]\n'
      + `[[attack.capacity]]\nroute = "/signup"\nsignups_per_minute = ${CAPACITY}\nperiod_secs = 2\nline_max_wait_secs = 900`,
  });
  const live = liveGate({ browser: true, reset: false, worker: { vars: { POLICY: policy } } });
  before(() => fs.mkdirSync(SHOTS, { recursive: true }));

  /** A scripted client: fetch, solve, post (as an API client: JSON answers). */
  async function bot(i, sol, ua = `scripted-signup/${i}`) {
    if (!sol) {
      const c = await challenge(live.gate.url, '/signup', ua);
      sol = solution(unb64(c.token), solve(unb64(c.token)));
    }
    const r = await fetch(`${live.gate.url}/signup`, {
      method: 'POST',
      headers: { 'User-Agent': ua, Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded', 'X-Gate-Solution': sol },
      body: `email=bot${i}%40example.com&password=scripted-signup`,
    });
    return { i, ua, sol, status: r.status, body: await r.json().catch(() => null), retryAfter: r.headers.get('retry-after') };
  }

  it('a burst of scripts fills the capacity; the rest wait in line with nothing spent; a copied place is refused', async () => {
    const answers = [];
    for (let i = 0; i < BOTS; i += IN_FLIGHT) {
      answers.push(...await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, BOTS - i) }, (_, j) => bot(i + j))));
    }
    const admitted = answers.filter((a) => a.status === 201);
    const lined = answers.filter((a) => a.status === 429);
    assert.equal(admitted.length + lined.length, BOTS, JSON.stringify(answers.filter((a) => ![201, 429].includes(a.status))));
    assert.ok(admitted.length <= CAPACITY, `${admitted.length} admitted at once`);
    assert.ok(lined.length >= BOTS - CAPACITY, `${lined.length} in line`);
    for (const a of lined) {
      assert.equal(a.body.error, 'in_line', JSON.stringify(a.body));
      assert.ok(a.body.line.wait_secs >= 1 && a.body.line.retry_after >= 1 && a.body.line.retry_after <= 10, JSON.stringify(a.body.line));
      assert.equal(a.retryAfter, String(a.body.line.retry_after));
    }
    assert.equal((await signups(live.origin)).length, admitted.length, 'only the admitted reached the origin');
    // a controller period on, the line has opened behind the burst: the same place asked
    // again is still in line (nothing was spent: not already_spent)
    await sleep(2500);
    const again = await bot(lined.at(-1).i, lined.at(-1).sol, lined.at(-1).ua);
    assert.equal(again.status, 429, JSON.stringify(again.body));
    assert.equal(again.body.error, 'in_line');
    // a copied place (another client sends it) is refused and never forwarded
    const copied = await bot(lined[0].i, lined[0].sol, 'another-client/1.0');
    assert.equal(copied.status, 403, JSON.stringify(copied.body));
    assert.equal(copied.body.error, 'binding_mismatch');
    assert.equal((await signups(live.origin)).length, admitted.length, 'neither reached the origin');
  });

  it('a form a browser posts before its turn gets a page that keeps it and its place, in every language, axe clean', async () => {
    for (const [locale, tag] of LOCALES) {
      const context = await person(live.browser, { locale });
      const page = await context.newPage();
      const ua = chromeUserAgent(live.browser);
      // the browser's own place (same User-Agent and address: its binding), posted as a plain
      // form navigation, as a page whose widget already paid would
      const c = await challenge(live.gate.url, '/signup', ua);
      const sol = solution(unb64(c.token), solve(unb64(c.token)));
      await page.goto(`${live.gate.url}/login`);
      const email = `early-${tag}@example.com`;
      await postAsForm(page, '/signup', [['email', email], ['password', 'correct horse battery'], ['gate-solution', sol]]);
      await page.waitForSelector('#gate-wait-status');
      assert.equal(await page.getAttribute('html', 'lang'), tag);
      assert.equal(await page.inputValue('input[name=email]'), email, 'the fields are kept');
      assert.equal(await page.inputValue('input[name=gate-solution]'), sol, 'the place is kept');
      assert.match(await page.textContent('#gate-wait-status'), /\d/, 'the estimated wait');
      await page.screenshot({ path: path.join(SHOTS, `line-page-${tag}.png`) });
      const axe = await new AxeBuilder({ page }).analyze();
      assert.deepEqual(axe.violations.map((v) => `${v.id}: ${v.help}`), [], locale);
      assert.ok(!(await signups(live.origin)).some((r) => r.body.includes(encodeURIComponent(email))), 'nothing forwarded yet');
      await context.close();
    }
    // the same post from outside the browser as that browser: 429 with Retry-After, nothing spent
    const ua = chromeUserAgent(live.browser);
    const c = await challenge(live.gate.url, '/signup', ua);
    const sol = solution(unb64(c.token), solve(unb64(c.token)));
    const r = await fetch(`${live.gate.url}/signup`, {
      method: 'POST',
      headers: { ...personHeaders(ua), ...CHROME.navigate, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `email=outside%40example.com&password=x&gate-solution=${encodeURIComponent(sol)}`,
    });
    assert.equal(r.status, 429);
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
  });

  /** What a page stuck on neither the origin's answer nor the line's page shows (for the failure). */
  async function seen(page) {
    const state = await page.getAttribute('form[data-gate]', 'data-gate-state', { timeout: 1000 }).catch(() => null);
    const text = (await page.textContent('body', { timeout: 1000 }).catch(() => '')) || '';
    return `at ${page.url()}, widget ${state}, page: ${text.replace(/\s+/g, ' ').trim().slice(0, 300)}`;
  }

  it('two dozen people sign up through the widget: each in turn, fields intact, shown the place, never "busy"', async () => {
    const shot = new Set();
    const people = [];
    for (let n = 0; n < PEOPLE; n++) {
      const [locale, tag] = LOCALES[n % LOCALES.length];
      const context = await person(live.browser, { locale });
      const page = await context.newPage();
      await page.goto(`${live.gate.url}/signup`);
      const email = `person-${n}@example.com`;
      await page.fill('#email', email);
      await page.fill('#password', `correct horse battery ${n}`);
      await page.click('button[type=submit]');
      people.push({ n, tag, context, page, email });
    }
    const started = Date.now();
    // a script's sign-up in the same line: the CLI waits its turn
    const cli = gateCliResult('submit', `${live.gate.url}/signup`, '--data', 'email=cli%40example.com&password=scripted', '--content-type', 'application/x-www-form-urlencoded', '--json');
    for (const p of people) {
      // in line: the widget shows the place (once per language, a screenshot and an audit)
      const where = await Promise.race([
        p.page.waitForSelector('#result', { timeout: 300_000 }).then(() => 'admitted'),
        p.page.waitForSelector('form[data-gate-state=line]', { timeout: 300_000 }).then(() => 'line'),
        p.page.waitForSelector('#gate-wait-status', { timeout: 300_000 }).then(() => 'page'),
      ]).catch(async (e) => assert.fail(`${p.email}: ${e.message.split('\n')[0]}; ${await seen(p.page)}`));
      if (where === 'line' && !shot.has(p.tag)) {
        // the person's turn may come during the audit (the form goes on to the origin): then
        // the next person in line in this language is audited instead
        const inLine = async () => (await p.page.$('form[data-gate-state=line]')) !== null;
        try {
          const text = await p.page.textContent('form[data-gate] [role=status] span');
          assert.match(text, /\d/, `${p.tag}: the estimated wait is shown`);
          await p.page.screenshot({ path: path.join(SHOTS, `line-${p.tag}.png`) });
          const axe = await new AxeBuilder({ page: p.page }).analyze();
          assert.deepEqual(axe.violations.map((v) => `${v.id}: ${v.help}`), [], p.tag);
          if (await inLine()) shot.add(p.tag);
        } catch (e) {
          if (e instanceof assert.AssertionError || !/context was destroyed|navigat/i.test(String(e))) throw e;
        }
      }
    }
    for (const p of people) {
      // a post that raced a full minute gets the line's page: the person presses Continue
      for (let tries = 0; tries < 60; tries++) {
        const where = await Promise.race([
          p.page.waitForSelector('#result', { timeout: 300_000 }).then(() => 'admitted'),
          p.page.waitForSelector('#gate-wait-status', { timeout: 300_000 }).then(() => 'page'),
        ]).catch(async (e) => assert.fail(`${p.email} after ${tries} presses: ${e.message.split('\n')[0]}; ${await seen(p.page)}`));
        if (where === 'admitted') break;
        await sleep(5000);
        await p.page.click('button[type=submit]');
      }
      // a person who saw an error (busy included) would still be on the form
      assert.equal(await p.page.textContent('#result'), `Signed up as ${p.email}`);
    }
    const recs = await signups(live.origin);
    for (const p of people) {
      const mine = recs.filter((r) => r.body.includes(`email=${encodeURIComponent(p.email)}`));
      assert.equal(mine.length, 1, `${p.email}: exactly one sign-up`);
      assert.ok(mine[0].body.includes(`password=correct+horse+battery+${p.n}`), 'the fields intact');
    }
    assert.deepEqual([...shot].sort(), LOCALES.map(([, t]) => t).sort(), 'the place was shown in every language');
    console.log(`# ${PEOPLE} people admitted in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    for (const p of people) await p.context.close();
    const { stdout, stderr } = await cli;
    assert.ok(JSON.parse(stdout).status < 400, stdout);
    const told = stderr.split('\n').filter((l) => l.startsWith('in line')).length;
    console.log(`# gate submit: ${told} in_line answer(s) before its turn`);
  });

  it('the origin never received more than its capacity', async () => {
    const recs = await signups(live.origin);
    const peak = peakMinuteCount(recs);
    const sliding = peakSlidingMinute(recs);
    console.log(`# ${recs.length} sign-ups; peak minute count before an arrival ${peak.toFixed(1)} (capacity ${CAPACITY}); most in a sliding 60 s window ${sliding}`);
    // one isolate (wrangler dev) takes each forward in its exact minute, forwards in flight at
    // once included (docs/attack-mode.md § The waiting line)
    assert.ok(sliding <= CAPACITY, `${sliding} sign-ups reached the origin in one minute`);
    assert.ok(peak < CAPACITY + IN_FLIGHT, `the origin's decaying minute count reached ${peak.toFixed(1)}`);
  });
});
