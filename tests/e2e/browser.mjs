// Headless Chromium from Debian, driven by playwright-core (never a downloaded browser).
//
// The gate's fingerprint checks are built to spot exactly what an automated headless browser
// looks like. So the tests that play "a person" use this same Chromium the way a person's
// browser presents itself: without the automation switch (navigator.webdriver stays false), a
// normal Chrome User-Agent (headless mode says "HeadlessChrome"), and the time zone and
// language of the network location wrangler dev reports (Austin, US: America/Chicago, en-US).
// Tests of the checks themselves use `launch({ automation: true })` or change one of these.
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Launches Chromium; `automation: true` keeps the automation markers (navigator.webdriver);
 * `args` adds switches. */
export function launch({ automation = false, args = [] } = {}) {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [...(automation ? ARGS : [...ARGS, '--disable-blink-features=AutomationControlled']), ...args],
  });
}

/** The browser's real Chromium version, for a User-Agent that matches its client hints. */
export function chromeUserAgent(browser) {
  const major = browser.version().split('.')[0];
  return `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${major}.0.0.0 Safari/537.36`;
}

/** A context that presents itself like a person's Chrome in Austin; `options` override. */
export function person(browser, options = {}) {
  return browser.newContext({
    userAgent: chromeUserAgent(browser),
    timezoneId: 'America/Chicago',
    locale: 'en-US',
    ...options,
  });
}

/** Posts `fields` (name, value pairs) from `page` to `action` as a plain form navigation, as a
 * page whose own form carried them would (the response replaces the page). */
export function postAsForm(page, action, fields) {
  return page.evaluate(({ action, fields }) => {
    const f = document.createElement('form');
    f.method = 'post';
    f.action = action;
    for (const [name, value] of fields) {
      const input = document.createElement('input');
      Object.assign(input, { type: 'hidden', name, value });
      f.appendChild(input);
    }
    document.body.appendChild(f);
    HTMLFormElement.prototype.submit.call(f); // (a field named "submit" shadows f.submit)
  }, { action, fields });
}
