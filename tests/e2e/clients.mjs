// A real browser's requests, as the Miniflare suites replay them: Chrome 131 on Windows in
// Berlin, with the headers, widget signals and request.cf that go together.

export const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
export const HOST = 'https://signup.example';

/** Headers Chrome 131 on Windows sends for the widget's challenge fetch and for a single-page
 * app's fetch() sign-up (Node's fetch under dispatchFetch always sends Sec-Fetch-Mode: cors, so
 * a form navigation cannot be replayed here; the browser suites cover that). */
export const CHROME = {
  common: {
    'User-Agent': UA,
    'sec-ch-ua': '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"',
    'sec-ch-ua-mobile': '?0',
    'sec-ch-ua-platform': '"Windows"',
    'Accept-Encoding': 'gzip, deflate, br, zstd',
    'Accept-Language': 'de-DE,de;q=0.9,en;q=0.8',
  },
  fetch: { Accept: '*/*', 'Sec-Fetch-Site': 'same-origin', 'Sec-Fetch-Mode': 'cors', 'Sec-Fetch-Dest': 'empty' },
  submit: {
    Accept: 'application/json',
    'Sec-Fetch-Site': 'same-origin',
    'Sec-Fetch-Mode': 'cors',
    'Sec-Fetch-Dest': 'empty',
    'Content-Type': 'application/x-www-form-urlencoded',
    Origin: HOST,
  },
};

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

/** A residential connection in Berlin over HTTP/2. */
export const CF = { asn: 3320, asOrganization: 'Deutsche Telekom AG', country: 'DE', timezone: 'Europe/Berlin', httpProtocol: 'HTTP/2', tlsVersion: 'TLSv1.3', clientTcpRtt: 25, botManagement: { score: 90, verifiedBot: false } };
