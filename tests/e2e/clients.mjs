// A real browser's requests, as the Miniflare suites replay them: Chrome 131 on Windows in
// Berlin, with the headers, widget signals and request.cf that go together, and a client that
// sends them (`chromeClient`); and the headers of the browser suites' person (`personHeaders`).
import { gateCli } from './harness.mjs';

export const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
export const HOST = 'https://signup.example';

/** What one Chrome sends with every request: its User-Agent, client hints and languages. */
function chromeHeaders({ ua, brands, platform, languages }) {
  return {
    'User-Agent': ua,
    'sec-ch-ua': brands,
    'sec-ch-ua-mobile': '?0',
    'sec-ch-ua-platform': `"${platform}"`,
    'Accept-Encoding': 'gzip, deflate, br, zstd',
    'Accept-Language': languages,
  };
}

/** Headers Chrome 131 on Windows sends for the widget's challenge fetch and for a single-page
 * app's fetch() sign-up (Node's fetch under dispatchFetch always sends Sec-Fetch-Mode: cors, so
 * a form navigation cannot be replayed here; the browser suites cover that). The Rust tests'
 * copy of this Chrome is tests/common/chrome.rs `WINDOWS`. */
export const CHROME = {
  common: chromeHeaders({
    ua: UA,
    brands: '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"',
    platform: 'Windows',
    languages: 'de-DE,de;q=0.9,en;q=0.8',
  }),
  fetch: { Accept: '*/*', 'Sec-Fetch-Site': 'same-origin', 'Sec-Fetch-Mode': 'cors', 'Sec-Fetch-Dest': 'empty' },
  submit: {
    Accept: 'application/json',
    'Sec-Fetch-Site': 'same-origin',
    'Sec-Fetch-Mode': 'cors',
    'Sec-Fetch-Dest': 'empty',
    'Content-Type': 'application/x-www-form-urlencoded',
    Origin: HOST,
  },
  /** A top-level form navigation (a person pressing the form's button). */
  navigate: {
    Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'Sec-Fetch-Site': 'same-origin',
    'Sec-Fetch-Mode': 'navigate',
    'Sec-Fetch-Dest': 'document',
  },
};

/**
 * The headers of browser.mjs's person (the launched Chromium, User-Agent `ua`, on Linux in US
 * English), for requests made outside the browser as that browser (same User-Agent, so the
 * same binding). The Rust tests' copy is tests/common/chrome.rs `LINUX`.
 */
export function personHeaders(ua) {
  const major = ua.match(/Chrome\/(\d+)/)[1];
  return chromeHeaders({ ua, brands: `"Chromium";v="${major}", "Not:A-Brand";v="24"`, platform: 'Linux', languages: 'en-US,en;q=0.9' });
}

/** What this Chrome's widget would report (consistent with the headers above). */
export const SIGNALS = {
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

/**
 * The widget's ping chain against a Worker (`fetch(url, init)`: Miniflare's dispatchFetch, or a
 * copy's), with the client's headers and `cf`: a first stamp, echoed `echoes` times, each echo
 * sent `holdMs` after the last answer (a relay's detour: the gate measures it). Returns the
 * signals with the last stamp as `rttStamp` (as JSON text; without one where the gate gave none).
 */
export async function stampedSignals(fetch, { headers = {}, cf = CF, signals = SIGNALS, echoes = 1, holdMs = 0 } = {}) {
  let stamp;
  for (let i = 0; i <= echoes; i++) {
    if (i && holdMs) await new Promise((r) => setTimeout(r, holdMs));
    const q = stamp ? `?stamp=${stamp}` : '';
    const r = await fetch(`${HOST}/__gate/ping${q}`, { headers, cf });
    const body = r.status === 200 ? await r.json() : (await r.text(), {});
    // a gate without a configuration has no key: no stamp (the suites that price check it)
    if (!body.stamp) return JSON.stringify(signals);
    stamp = body.stamp;
  }
  return JSON.stringify({ ...signals, rttStamp: stamp });
}

/** A residential connection in Berlin over HTTP/2. */
export const CF = { asn: 3320, asOrganization: 'Deutsche Telekom AG', country: 'DE', timezone: 'Europe/Berlin', httpProtocol: 'HTTP/2', tlsVersion: 'TLSv1.3', clientTcpRtt: 25, botManagement: { score: 90, verifiedBot: false } };
/** A spiking network for the attack-mode suites, otherwise a residential client like CF. */
export const SPIKER = { ...CF, asn: 64500, asOrganization: 'Example Broadband' };
/** A second, quiet network in the same country. */
export const QUIET = { ...CF, asn: 3209, asOrganization: 'Vodafone GmbH' };

/**
 * A browser-like client of one Worker in Miniflare (`edge` as startMiniflare returns it, or a
 * function returning the current one, for a test that restarts the runtime): one network
 * (`cf`), one address, Chrome's headers and widget signals. Every call returns status, parsed
 * JSON (when JSON), text and headers.
 */
export function chromeClient(edge, { cf = CF, ip = '198.51.100.7', headers = {} } = {}) {
  const mf = () => (typeof edge === 'function' ? edge() : edge).mf;
  const h = (extra) => ({ ...CHROME.common, 'CF-Connecting-IP': ip, ...headers, ...extra });
  const read = async (r) => {
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* html */ }
    return { status: r.status, json, text, headers: r.headers };
  };
  return {
    /** A challenge asked with the widget's signals (its round trip measured first); the
     * answer carries the signals sent (`signals`), which the solution must repeat. */
    async challenge(route = '/signup', { phone } = {}) {
      const signals = await stampedSignals((u, i) => mf().dispatchFetch(u, i), { headers: h(CHROME.fetch), cf });
      const q = new URLSearchParams({ route, signals: Buffer.from(signals).toString('base64url') });
      if (phone !== undefined) q.set('phone', phone);
      return { ...(await read(await mf().dispatchFetch(`${HOST}/__gate/challenge?${q}`, { headers: h(CHROME.fetch), cf }))), signals };
    },
    async solve(challenge) {
      return gateCli('solve', '--token', challenge.json.token, '--signals', challenge.signals ?? JSON.stringify(SIGNALS));
    },
    /** Posts `fields` (form, or JSON with `json: true`) with the solution to `route`. */
    async submit(route, solution, { fields = { email: 'a@example.com' }, json = false, extra = {} } = {}) {
      const body = json
        ? JSON.stringify({ ...fields, 'gate-solution': solution })
        : new URLSearchParams({ ...fields, 'gate-solution': solution }).toString();
      const type = json ? { 'Content-Type': 'application/json' } : {};
      return read(await mf().dispatchFetch(`${HOST}${route}`, { method: 'POST', headers: h({ ...CHROME.submit, ...type, ...extra }), body, cf }));
    },
    /** A whole sign-up: challenge, solve, submit. `issue` is the challenge response. */
    async signUp(route = '/signup', opts = {}) {
      const issue = await this.challenge(route, { phone: opts.phone });
      if (issue.status !== 200) return { issue, status: null };
      const r = await this.submit(route, await this.solve(issue), opts);
      return { ...r, issue };
    },
    async login() {
      return read(await mf().dispatchFetch(`${HOST}/login`, { method: 'POST', headers: h({ ...CHROME.submit }), body: 'email=a%40example.com&password=correct-horse', cf, redirect: 'manual' }));
    },
    async get(p, extra = {}) {
      return read(await mf().dispatchFetch(`${HOST}${p}`, { headers: h(extra), cf }));
    },
    async post(p, body, extra = {}) {
      return read(await mf().dispatchFetch(`${HOST}${p}`, { method: 'POST', headers: h(extra), body, cf }));
    },
  };
}
