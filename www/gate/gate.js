// The sign-up gate widget. Drop-in:
//
//   <script src="/__gate/gate.js" defer></script>
//   <form method="post" action="/signup" data-gate> ... </form>
//
// It fetches a challenge early, solves it with the Rust solver in Web Workers (or, where
// WebAssembly is missing or refused, the pure-JavaScript solver), writes the
// hidden `gate-solution` field and holds the submit until the solution is ready. Attributes on
// the form: data-gate-mode="visible|invisible", data-gate-start="focus|load",
// data-gate-lang="<a language of www/i18n/, e.g. de or zh-CN>". For single-page apps: `gate.solve(route)` resolves
// to the solution string; events gate:progress, gate:solved, gate:error bubble from the form
// (or fire on document for gate.solve); gate:solved says which solver ran (detail.solver:
// 'wasm-simd', 'wasm' or 'js'), and so does the form's data-gate-solver attribute. When the gate prices by phone number, the
// widget sends the first digits of the form's phone field (never its last four) with the challenge
// request and the top-up before the form is sent (so the number's range is paid for ahead), and
// solves again if the calling code changes before the form is sent. While the person
// types, one worker banks work toward the gate's suggestion (paused while the tab is hidden,
// data-gate-bank says what it does); on submit the work is topped up to the price asked now
// with every core, so a price that rose meanwhile is paid, not refused. `gate.topUp(solution,
// answer)` does the same for a single-page app's `402 more_work` answer; a plain form's `402`
// is the gate's top-up page, where this script adds the rest and posts the form by itself.
(() => {
  'use strict';
  const script = document.currentScript;
  const BASE = new URL('.', (script && script.src) || location.href);
  const FIELD = 'gate-solution';
  /** The cookie the gate's retry page sets: the id of a challenge it did not spend. */
  const UNSPENT = 'gate-unspent';
  /** The top-ups a solution may carry (the protocol's MAX_TOP_UPS). */
  const MAX_TOP_UPS = 3;
  /** Refresh a challenge that has less than this many seconds left. */
  const MARGIN = 15;

  /**
   * The messages come from the translation catalogs in www/i18n/ (shared with the gate's own
   * pages): scripts/build-widget builds English and the list of languages into this script
   * (GATE_MESSAGES_EN, GATE_LANGS); the other languages are fetched when needed.
   */
  const EN = GATE_MESSAGES_EN;
  const LANGS = GATE_LANGS;
  const translations = {};
  /** The messages in `lang` (a few hundred bytes, fetched once; English if that fails). */
  function messagesFor(lang) {
    if (lang === 'en') return Promise.resolve(EN);
    translations[lang] ||= fetch(new URL(`gate-i18n-${lang}.json`, BASE))
      .then((r) => (r.ok ? r.json() : {}))
      .catch(() => ({}))
      .then((m) => ({ ...EN, ...m }));
    return translations[lang];
  }

  /** The first supported language: attribute, then the browser's preferences, then English. */
  function language(el) {
    const wanted = [];
    const attr = (el && el.getAttribute('data-gate-lang')) || (script && script.getAttribute('data-gate-lang'));
    if (attr) wanted.push(attr);
    wanted.push(...(navigator.languages || [navigator.language || 'en']));
    for (const tag of wanted) {
      const lower = String(tag).toLowerCase();
      const exact = LANGS.find((k) => k.toLowerCase() === lower);
      if (exact) return exact;
      // else the first language with the same primary subtag (zh-TW as zh-CN, de-AT as de)
      const base = lower.split(/[-_]/)[0];
      const near = LANGS.find((k) => k.toLowerCase().split('-')[0] === base);
      if (near) return near;
    }
    return 'en';
  }

  const b64 = {
    decode(s) {
      const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
      return Uint8Array.from(bin, (c) => c.charCodeAt(0));
    },
    encode(bytes) {
      let bin = '';
      for (const b of bytes) bin += String.fromCharCode(b);
      return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    },
  };

  /** Whether this browser validates a Wasm module that uses simd128 (wasm-feature-detect's probe). */
  const simd = (() => {
    try {
      return WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]));
    } catch {
      return false;
    }
  })();
  /** Without WebAssembly (iOS Lockdown Mode, a browser policy) the JavaScript solver runs. */
  const wasmAvailable = typeof WebAssembly === 'object' && typeof WebAssembly.instantiate === 'function';
  const solverFiles = {
    ...(simd
      ? { glue: new URL('gate_solver_simd.js', BASE).href, wasm: new URL('gate_solver_simd_bg.wasm', BASE).href }
      : { glue: new URL('gate_solver.js', BASE).href, wasm: new URL('gate_solver_bg.wasm', BASE).href }),
    js: new URL('gate-solver-js.js', BASE).href,
  };

  /**
   * A solver on this thread (when workers cannot start): the Wasm one, or the JavaScript one
   * when WebAssembly is missing or refused (a CSP without 'wasm-unsafe-eval' makes compiling
   * throw). { solver, kind }.
   */
  async function pageSolver(token, signals) {
    if (wasmAvailable) {
      try {
        const glue = await import(solverFiles.glue);
        await glue.default({ module_or_path: solverFiles.wasm });
        return { solver: new glue.Solver(token, signals), kind: glue.Solver.simd() ? 'wasm-simd' : 'wasm' };
      } catch {
        // fall through to JavaScript
      }
    }
    let js;
    try {
      js = await import(solverFiles.js);
    } catch (err) {
      throw new GateError('unsupported', String(err));
    }
    return { solver: new js.Solver(token, signals), kind: 'js' };
  }

  class GateError extends Error {
    constructor(code, message) {
      super(message || code);
      this.code = code;
    }
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  /**
   * The first digits of an international number (+86 138 0013 8000 → 861380013, 0086…): the
   * first three while it is typed (its calling code), then all but the last four, at most
   * `most` (the challenge's phone_digits): enough for the gate to find the number's range and
   * price it before the form is sent, never the number itself. The same rule as the gate's
   * `phone::prefix_of`.
   */
  function phonePrefix(value, most = 9) {
    // NFKC: full-width digits and plus sign as ASCII; the separators the gate drops
    const typed = String(value || '').normalize('NFKC').trim().replace(/^tel:/, '');
    const m = /^(?:\+|00)(\d+)/.exec(typed.replace(/[\s().\-\/[\]~\u00AD\u200B\u2010-\u2015\u2212\u30FC\uFEFF]/g, ''));
    if (!m) return '';
    const d = m[1];
    return d.slice(0, Math.max(Math.min(3, d.length), Math.min(most, d.length - 4)));
  }

  /**
   * GET a challenge, retrying network errors and 5xx with backoff (0.5, 1, 2, 4 s); not when
   * sign-up is shed ("busy": retrying would only add load).
   */
  async function fetchChallenge(route, signals, phone) {
    const url = new URL('challenge', BASE);
    url.searchParams.set('route', route);
    if (signals.length) url.searchParams.set('signals', b64.encode(signals));
    if (phone) url.searchParams.set('phone', phone);
    let last;
    for (let attempt = 0; attempt < 5; attempt++) {
      if (attempt) await sleep(500 * 2 ** (attempt - 1));
      try {
        const r = await fetch(url, { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } });
        if (r.ok) {
          const c = await r.json();
          // the server's clock, so expiry is judged on its time, not a skewed local one
          c.offset = c.issued_at - Date.now() / 1000;
          return c;
        }
        const body = await r.json().catch(() => ({}));
        last = new GateError(r.status === 403 ? 'denied' : body.error === 'busy' ? 'busy' : 'http_' + r.status);
        if (r.status < 500 || last.code === 'busy') break;
      } catch (err) {
        last = new GateError('network', String(err));
      }
    }
    throw last;
  }

  function secondsLeft(c) {
    return c.expires_at - (Date.now() / 1000 + c.offset);
  }

  /**
   * Solves sub-puzzles of `c` (a challenge, or a top-up: { token, k, difficulty }) across
   * `threads` module workers (default min(hardwareConcurrency, k)); falls back to the page's
   * own thread when workers cannot start. From index `from`; stops early when `stop()` says so
   * (banking: the tab is hidden, the person pressed submit). Calls onProgress(fraction).
   * Resolves to { nonces, solver }: the hex nonces of the contiguous sub-puzzles found from
   * `from`, and which solver ran ('wasm-simd', 'wasm' or 'js').
   */
  async function solveParts(c, signals, onProgress, { threads, from = 0, stop = () => false } = {}) {
    const token = b64.decode(c.token);
    const k = c.k;
    const expected = (k - from) * 2 ** c.difficulty;
    const nonces = new Array(k);
    const triesBy = new Array(k).fill(0);
    let next = from;
    let done = 0;
    let lastReport = 0;
    const report = (force) => {
      const now = Date.now();
      if (!force && now - lastReport < 100) return;
      lastReport = now;
      const tried = triesBy.reduce((a, b) => a + b, 0);
      onProgress(Math.min(0.99, Math.max(done / (k - from), tried / expected)), kind);
    };
    const n = Math.max(1, Math.min(threads || navigator.hardwareConcurrency || 2, k - from));
    const workers = [];
    let kind = wasmAvailable ? null : 'js';
    const prefix = () => {
      const out = [];
      for (let i = from; i < k && nonces[i]; i++) out.push(nonces[i]);
      return out;
    };
    try {
      await new Promise((resolve, reject) => {
        let started = 0;
        const assign = (w) => {
          if (stop()) resolve();
          else if (next < k) w.postMessage({ type: 'solve', index: next++ });
        };
        for (let i = 0; i < n; i++) {
          let w;
          try {
            w = new Worker(new URL('gate-worker.js', BASE), { type: 'module', name: 'gate-solver' });
          } catch (err) {
            reject(new GateError('worker', String(err)));
            return;
          }
          workers.push(w);
          w.onerror = (e) => reject(new GateError('worker', e.message || 'worker failed'));
          w.onmessage = ({ data: m }) => {
            if (m.type === 'ready') {
              started++;
              // every worker makes the same choice; 'js' if any had to fall back
              if (kind !== 'js') kind = m.solver;
              assign(w);
            } else if (m.type === 'progress') {
              triesBy[m.index] = m.tries;
              report(false);
              if (stop()) resolve();
            } else if (m.type === 'found') {
              nonces[m.index] = m.nonce;
              triesBy[m.index] = m.tries;
              done++;
              report(true);
              if (done === k - from) resolve();
              else assign(w);
            } else if (m.type === 'error') {
              reject(new GateError(started ? 'solver' : 'worker', m.message));
            }
          };
          w.postMessage({ type: 'init', ...solverFiles, solver: wasmAvailable ? 'auto' : 'js', token, signals });
        }
        bank.threads = n;
      });
    } catch (err) {
      if (err.code !== 'worker' || done > 0) throw err;
      // No workers (old browser, blocked by policy): solve on this thread in slices.
      for (const w of workers) w.terminate();
      workers.length = 0;
      const page = await pageSolver(token, signals);
      const solver = page.solver;
      kind = page.kind;
      if (!solver.valid()) throw new GateError('solver', 'invalid challenge token');
      const slice = kind === 'js' ? 1 << 13 : 1 << 15;
      const hex = (x) => (x >>> 0).toString(16).padStart(8, '0');
      for (let i = from; i < k && !stop(); i++) {
        solver.begin(i, 0, 0);
        while (!solver.solve_step(slice)) {
          if (solver.exhausted()) throw new GateError('solver', 'nonce space exhausted');
          triesBy[i] = solver.tries();
          report(false);
          await sleep(0);
        }
        nonces[i] = hex(solver.nonce_hi()) + hex(solver.nonce_lo());
        done++;
        report(true);
      }
    } finally {
      for (const w of workers) w.terminate();
      bank.threads = 0;
    }
    return { nonces: prefix(), solver: kind };
  }

  /** Hex nonces as base64url of their 8-byte big-endian values. */
  function nonceText(nonces) {
    const bytes = new Uint8Array(8 * nonces.length);
    nonces.forEach((hex, i) => {
      for (let j = 0; j < 8; j++) bytes[8 * i + j] = parseInt(hex.slice(2 * j, 2 * j + 2), 16);
    });
    return b64.encode(bytes);
  }

  /** The top-ups of `r` with work in them: those the solution carries. */
  const partsSent = (r) => r.parts.filter((p) => p.nonces.length);

  /** Every top-up of `r` with work in it, as a solution carries them (`~token.nonces` each). */
  const partsText = (r) => partsSent(r).map((p) => `~${p.offer.token}.${nonceText(p.nonces)}`).join('');

  /** The solution string: the challenge's, then every top-up with work in it. */
  function bundleOf(r) {
    return `${r.challenge.token}.${nonceText(r.nonces)}${r.signals.length ? '.' + b64.encode(r.signals) : ''}` + partsText(r);
  }

  /** The parts of a solution string's first challenge: [token, nonces, signals (base64url or undefined)]. */
  const firstOf = (solution) => solution.split('~')[0].split('.');

  /** Drops the gate's cookie naming an unspent challenge (read once, or the form is going). */
  const forgetUnspent = () => {
    document.cookie = `${UNSPENT}=; Max-Age=0; Path=/; SameSite=Strict`;
  };

  /** The work `r` has paid, in expected hashes (`r.paid`: what a posted bundle was credited). */
  const paidOf = (r) => (r.paid ?? r.challenge.k * 2 ** r.challenge.difficulty) + r.parts.reduce((w, p) => w + p.nonces.length * p.offer.each, 0);

  /**
   * Asks the gate for the price now and a top-up for what `r` misses (`want`: bank toward
   * it). Resolves to the offer, or null when nothing is missing.
   */
  async function topUp(r, want = 0) {
    const url = new URL('topup', BASE);
    url.searchParams.set('token', r.challenge.token);
    url.searchParams.set('paid', String(paidOf(r)));
    if (want) url.searchParams.set('want', String(want));
    if (r.signals.length) url.searchParams.set('signals', b64.encode(r.signals));
    if (r.phone) url.searchParams.set('phone', r.phone);
    r.line = null;
    const resp = await fetch(url, { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } });
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new GateError(body.error === 'busy' ? 'busy' : 'http_' + resp.status);
    if (body.work) r.work = body.work;
    // a waiting line: this challenge's place has not come ({wait_secs, ahead_secs, retry_after})
    r.line = body.line || null;
    return body.topup || null;
  }

  /** Solves a whole top-up with every core and adds it to `r`. */
  async function addTopUp(r, offer, onProgress) {
    const { nonces } = await solveParts(offer, r.signals, onProgress);
    r.parts.push({ offer, nonces });
  }

  /** What the widget's banking is doing now (for pages and tests): 'idle', 'banking', 'paused', 'done'; threads in use. */
  const bank = { state: 'idle', threads: 0 };

  /** Names automation frameworks leave on `window` (or `document`). */
  const AUTOMATION = ['__playwright__binding__', '__pwInitScripts', '__puppeteer_evaluation_script__', '_phantom', 'callPhantom',
    '__nightmare', 'domAutomation', 'domAutomationController', '_selenium', '__selenium_unwrapped', '__webdriver_evaluate',
    '__driver_evaluate', '__webdriver_script_fn', '__fxdriver_unwrapped', '_Selenium_IDE_Recorder', '__lastWatirAlert', 'Cypress'];

  /**
   * Round trip to the gate, measured by the gate: a first ping, then its stamp sent straight
   * back three times (the gate keeps the best gap between its answers). Returns the last stamp
   * and the best round trip as this page saw it.
   */
  async function roundTrip() {
    let best, stamp;
    for (let i = 0; i < 4; i++) {
      const t0 = performance.now();
      try {
        const url = new URL('ping', BASE);
        if (stamp) url.searchParams.set('stamp', stamp);
        const resp = await fetch(url, { cache: 'no-store', credentials: 'omit' });
        const body = resp.ok ? await resp.json() : {};
        // a stamp refused (the address moved): start the chain again
        stamp = body.stamp;
      } catch {
        return {};
      }
      const ms = performance.now() - t0;
      if (i) best = best === undefined ? ms : Math.min(best, ms);
    }
    return { rtt: best === undefined ? undefined : Math.round(best), stamp };
  }

  /**
   * What the gate checks against what it sees: small, and sent only to the gate (no canvas,
   * audio or font probing; the WebGL renderer is reduced to one boolean). The bytes are bound
   * into the proof-of-work seed, so a solution is only valid with exactly these signals.
   */
  async function collectSignals() {
    const s = { v: 1 };
    const tryRead = (f) => {
      try {
        return f();
      } catch {
        return undefined;
      }
    };
    s.webdriver = tryRead(() => navigator.webdriver === true);
    s.automation = AUTOMATION.filter((n) => tryRead(() => n in window || n in document))
      .concat(tryRead(() => Object.keys(window).filter((k) => /^\$?cdc_/.test(k)).slice(0, 4)) || []);
    s.softwareRenderer = tryRead(() => {
      const gl = document.createElement('canvas').getContext('webgl');
      if (!gl) return undefined;
      const ext = gl.getExtension('WEBGL_debug_renderer_info');
      return /swiftshader|llvmpipe|softpipe|software/i.test(String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER)));
    });
    s.outer = [outerWidth, outerHeight];
    s.screen = tryRead(() => [screen.width, screen.height]);
    s.timeZone = tryRead(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
    s.languages = tryRead(() => Array.from(navigator.languages || []));
    s.plugins = tryRead(() => navigator.plugins.length);
    const uad = navigator.userAgentData;
    if (uad) s.uaData = { brands: uad.brands.map((b) => [b.brand, b.version]), mobile: uad.mobile, platform: uad.platform };
    s.cores = navigator.hardwareConcurrency;
    const trip = await roundTrip();
    s.rtt = trip.rtt;
    s.rttStamp = trip.stamp;
    return new TextEncoder().encode(JSON.stringify(s));
  }

  /**
   * Fetches and solves a challenge for `route` (priced for `phone`): { solution, solver,
   * challenge, phone, signals, nonces, parts } (`parts`: top-ups added later).
   */
  async function obtain(route, onProgress, phone = '') {
    const signals = await collectSignals();
    const c = await fetchChallenge(route, signals, phone);
    const { nonces, solver } = await solveParts(c, signals, onProgress);
    const r = { solver, challenge: c, phone, signals, nonces, parts: [], work: c.work };
    r.solution = bundleOf(r);
    return r;
  }

  function emit(target, name, detail) {
    target.dispatchEvent(new CustomEvent(name, { bubbles: true, detail }));
  }

  /** The widget on one form. */
  function attach(form) {
    const action = new URL(form.getAttribute('action') || location.href, location.href);
    if (action.origin !== location.origin) {
      console.warn('gate: only same-origin forms are supported', form);
      return;
    }
    const route = action.pathname;
    const visible = form.getAttribute('data-gate-mode') !== 'invisible';
    let messages = EN;
    const translated = messagesFor(language(form)).then((m) => {
      messages = m;
      retry.textContent = m.retry;
    });
    let field = form.querySelector(`input[name="${FIELD}"]`);
    if (!field) {
      field = document.createElement('input');
      field.type = 'hidden';
      field.name = FIELD;
      form.appendChild(field);
    }

    // One polite live region: it announces start, done and errors, never each percent.
    const status = document.createElement('div');
    status.className = 'gate-status';
    status.setAttribute('role', 'status');
    status.setAttribute('aria-live', 'polite');
    const text = document.createElement('span');
    const bar = document.createElement('progress');
    bar.max = 1;
    bar.value = 0;
    bar.setAttribute('aria-hidden', 'true');
    bar.tabIndex = -1;
    const retry = document.createElement('button');
    retry.type = 'button';
    retry.textContent = messages.retry;
    retry.hidden = true;
    const reducedMotion = window.matchMedia && matchMedia('(prefers-reduced-motion: reduce)').matches;
    Object.assign(status.style, { fontSize: '0.875em', marginTop: '0.5em', display: 'flex', gap: '0.5em', alignItems: 'center', flexWrap: 'wrap' });
    Object.assign(bar.style, { width: '6em', height: '0.5em' });
    if (!visible) {
      // visually hidden, still announced (errors only)
      Object.assign(status.style, { position: 'absolute', width: '1px', height: '1px', overflow: 'hidden', clip: 'rect(0 0 0 0)', whiteSpace: 'nowrap' });
    }
    status.append(text, bar, retry);
    bar.hidden = true;
    form.appendChild(status);

    let pending = null; // Promise<{solution, challenge}>
    let result = null;
    let holding = null; // the submitter waiting for a solution
    let state = 'idle';
    // The phone field, when the gate prices by the number (it says so in the challenge), and
    // how many of its first digits to send.
    let phoneField = null;
    let phoneDigits = 9;
    const phoneNow = () => {
      const el = phoneField && form.elements.namedItem(phoneField);
      return el && 'value' in el ? phonePrefix(el.value, phoneDigits) : '';
    };
    // Whether the solution was priced for another calling code than the form now has.
    const phoneStale = () => {
      if (!result || !phoneField) return false;
      const now = phoneNow();
      const code = result.challenge.phone_code;
      return now !== result.phone && !(code && now.startsWith(code));
    };

    /** Moves to state `next`, announcing messages[key] (in the page's language, once loaded);
     * `n` fills the message's {n}. */
    const show = (next, key, { announce = true, n = null } = {}) => {
      state = next;
      form.setAttribute('data-gate-state', next);
      bar.hidden = !(visible && next === 'solving' && !reducedMotion);
      retry.hidden = next !== 'error';
      if (!visible && next === 'line') {
        // a person kept waiting is told so, even by an invisible widget
        Object.assign(status.style, { position: '', width: '', height: '', overflow: '', clip: '', whiteSpace: '' });
      }
      if (!visible && next !== 'error' && next !== 'line') return;
      // Changing the text is what the live region announces.
      if (announce) {
        translated.then(() => {
          if (state === next) text.textContent = n === null ? messages[key] : messages[key].replace('{n}', String(n));
        });
      }
    };

    const start = () => {
      if (pending) return pending;
      result = null;
      field.value = '';
      show('solving', holding ? 'waiting' : 'verifying');
      let slowShown = false;
      pending = obtain(route, (fraction, solver) => {
        if (!reducedMotion) bar.value = fraction;
        // the JavaScript solver is several times slower: say why it takes a while (once)
        if (solver === 'js' && !slowShown && state === 'solving') {
          slowShown = true;
          show('solving', 'slow');
        }
        emit(form, 'gate:progress', { fraction, solver });
      }, phoneNow()).then(
        (r) => {
          result = r;
          phoneField = r.challenge.phone_field || null;
          phoneDigits = r.challenge.phone_digits || 9;
          pending = null;
          field.value = r.solution;
          form.setAttribute('data-gate-solver', r.solver);
          show('solved', 'verified');
          emit(form, 'gate:solved', { solution: r.solution, solver: r.solver });
          if (holding) finish();
          else bankWhileTyping();
          return r;
        },
        (err) => {
          pending = null;
          const code = err.code || 'error';
          show('error', ['unsupported', 'denied', 'busy'].includes(code) ? code : 'error');
          holding = null;
          form.removeAttribute('aria-busy');
          emit(form, 'gate:error', { code, message: String(err.message || err) });
          return null;
        },
      );
      return pending;
    };

    const fresh = () => result && secondsLeft(result.challenge) > MARGIN;

    // A plain form's post answered `402 more_work` (the price moved in the last moment) shows
    // the gate's retry page, which has no script; the gate sets a cookie naming the challenge it
    // did not spend. Back on the form (from the back/forward cache or loaded again), the widget
    // takes up the work it kept for that challenge and tops it up on the next submit, instead
    // of solving a new challenge from the start.
    const SENT = `gate-sent:${route}`;
    const keepSent = (r) => {
      try {
        sessionStorage.setItem(SENT, JSON.stringify({ ...r, signals: b64.encode(r.signals), solution: undefined }));
      } catch {
        // no storage (a private mode, a full quota): a retry page then means a new challenge
      }
    };
    const restoreUnspent = () => {
      let kept = null;
      try {
        kept = JSON.parse(sessionStorage.getItem(SENT) || 'null');
        sessionStorage.removeItem(SENT);
      } catch {
        return false;
      }
      const unspent = document.cookie.split('; ').map((c) => c.split('=')).find(([k]) => k === UNSPENT);
      if (!kept || !kept.challenge || !unspent || unspent[1] !== kept.challenge.id) return false;
      forgetUnspent();
      if (secondsLeft(kept.challenge) <= MARGIN) return false;
      kept.signals = b64.decode(kept.signals);
      result = kept;
      pending = null;
      phoneField = kept.challenge.phone_field || null;
      phoneDigits = kept.challenge.phone_digits || 9;
      field.value = bundleOf(kept);
      form.setAttribute('data-gate-restored', 'true');
      show('solved', 'verified', { announce: false });
      return true;
    };

    // Banking: while the person types, one worker adds work toward the gate's suggestion (the
    // price it expects to ask soon), paused while the tab is hidden, stopped at the suggestion
    // or when the person submits. Nothing is shown: the time is the person's own.
    let banking = null;
    // Ends a pause early: a submit while the tab is hidden (a password manager, a script)
    // must not wait for the tab to be shown again.
    let wake = () => {};
    const banked = (next) => {
      bank.state = next;
      form.setAttribute('data-gate-bank', next);
    };
    const bankWhileTyping = () => {
      const r = result;
      const want = (r && r.work && r.work.suggested) || 0;
      if (banking || !want || paidOf(r) >= want) return;
      banking = (async () => {
        const offer = await topUp(r, want).catch(() => null);
        if (!offer || result !== r) return;
        const part = { offer, nonces: [] };
        r.parts.push(part);
        const stop = () => document.hidden || holding || result !== r;
        while (part.nonces.length < offer.k && result === r && !holding) {
          if (document.hidden) {
            banked('paused');
            await new Promise((res) => {
              wake = res;
              document.addEventListener('visibilitychange', res, { once: true });
            });
            continue;
          }
          banked('banking');
          const { nonces } = await solveParts(offer, r.signals, () => {}, { threads: 1, from: part.nonces.length, stop });
          part.nonces.push(...nonces);
          if (result === r) field.value = bundleOf(r);
        }
      })()
        .catch(() => {})
        .finally(() => {
          banking = null;
          banked('done');
        });
    };

    // Submit: the banked work, topped up with every core to the price asked now (a price that
    // rose while the person typed is paid here, never refused), then the form goes. In a
    // waiting line the widget shows the place and the estimated wait (announced when the
    // minutes change, not every poll), asks again when told, and sends the form, as it is,
    // when the turn comes.
    const finish = async () => {
      const r = result;
      await banking;
      // the number as typed now: the price of its range is paid before the form goes
      r.phone = phoneNow() || r.phone;
      try {
        let offer = await topUp(r).catch(() => null); // unreachable: send what is banked
        let shownMinutes = null;
        while (result === r) {
          if (r.line) {
            const minutes = Math.max(1, Math.ceil(r.line.wait_secs / 60));
            if (minutes !== shownMinutes) {
              shownMinutes = minutes;
              show('line', 'in_line', { n: minutes });
            }
            await new Promise((res) => setTimeout(res, Math.max(1, r.line.retry_after) * 1000));
            offer = await topUp(r).catch(() => null);
            continue;
          }
          if (!offer) break;
          show('solving', 'waiting');
          await addTopUp(r, offer, (fraction) => {
            if (!reducedMotion) bar.value = fraction;
          });
          // the price may have moved while the top-up was solved: ask again before the form
          // goes (a plain form answered 402 is a retry page), while the solution has room
          if (partsSent(r).length >= MAX_TOP_UPS) break;
          offer = await topUp(r).catch(() => null);
        }
        if (result !== r) return;
      } catch (err) {
        holding = null;
        form.removeAttribute('aria-busy');
        show('error', 'error');
        emit(form, 'gate:error', { code: err.code || 'error', message: String(err.message || err) });
        return;
      }
      if (result !== r) return;
      field.value = bundleOf(r);
      state = 'ready';
      form.setAttribute('data-gate-state', 'ready');
      release();
    };

    const release = () => {
      const submitter = holding;
      holding = null;
      form.removeAttribute('aria-busy');
      if (typeof form.requestSubmit === 'function') {
        form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
      } else {
        if (submitter && submitter.name) {
          const extra = document.createElement('input');
          extra.type = 'hidden';
          extra.name = submitter.name;
          extra.value = submitter.value;
          form.appendChild(extra);
        }
        form.submit();
      }
    };

    form.addEventListener('submit', (e) => {
      if (state === 'ready') {
        // This submission spends the solution; a later one (a single-page app that stays on
        // the page) solves a new challenge when it is submitted, unless the gate said it was
        // not spent (restoreUnspent).
        keepSent(result);
        state = 'spent';
        result = null;
        form.setAttribute('data-gate-state', 'spent');
        return;
      }
      e.preventDefault();
      if (holding) return;
      holding = e.submitter || true;
      wake();
      form.setAttribute('aria-busy', 'true');
      if (state === 'solved' && fresh() && !phoneStale()) {
        finish();
        return;
      }
      if (!pending) {
        result = null;
        start();
      }
      show('solving', 'waiting');
    });

    retry.addEventListener('click', () => {
      start();
    });

    // A calling code typed after the solve started: solve again for it, in the background.
    form.addEventListener('change', (e) => {
      if (phoneField && e.target.name === phoneField && !pending && phoneStale()) start();
    });

    // A page restored from the back/forward cache must not reuse a spent solution.
    addEventListener('pageshow', (e) => {
      if (e.persisted && !restoreUnspent()) {
        result = null;
        field.value = '';
        pending = null;
        start();
      }
    });

    // work kept for a challenge the gate did not spend is topped up on submit: nothing to start
    if (!restoreUnspent()) {
      if (form.getAttribute('data-gate-start') === 'load') {
        start();
      } else {
        const onFirst = () => {
          form.removeEventListener('focusin', onFirst);
          form.removeEventListener('pointerdown', onFirst);
          start();
        };
        form.addEventListener('focusin', onFirst);
        form.addEventListener('pointerdown', onFirst);
      }
      show('idle', 'verifying', { announce: false });
    }
  }

  /**
   * The gate's top-up page (a person's form post answered `402 more_work`: the price moved
   * while it was on its way): the form holds the fields and the solution as posted, and the
   * offer. Solves it with every core, asks the price once more (as a form's submit does), and
   * posts the form by itself; the page's status region says so in the page's language. On
   * failure the Continue button comes back (it posts the form as it is: this page again).
   */
  function finishTopUp(form) {
    const status = document.getElementById(form.getAttribute('aria-describedby'));
    const button = form.querySelector('button');
    const field = form.elements.namedItem(FIELD);
    const say = (next, attr) => {
      form.setAttribute('data-gate-state', next);
      if (status && attr) status.textContent = form.getAttribute(attr);
    };
    let answer;
    try {
      answer = JSON.parse(form.getAttribute('data-gate-topup'));
    } catch {
      return;
    }
    if (!field || !answer || !answer.topup) return;
    const posted = field.value;
    const [token, , signals] = firstOf(posted);
    const paid = answer.work && answer.work.paid;
    const r = {
      challenge: { token },
      paid: paid || 0,
      parts: [],
      signals: signals ? b64.decode(signals) : new Uint8Array(),
      phone: form.getAttribute('data-gate-phone') || '',
    };
    const room = MAX_TOP_UPS - (posted.split('~').length - 1);
    if (button) button.hidden = true;
    form.setAttribute('aria-busy', 'true');
    say('solving');
    (async () => {
      let offer = answer.topup;
      while (offer && r.parts.length < room) {
        await addTopUp(r, offer, () => {});
        field.value = posted + partsText(r);
        // the price may have moved again while it was solved (in a line: the post gets the
        // line's page); without the paid figure a second ask would price the whole bundle
        offer = paid && r.parts.length < room ? await topUp(r).catch(() => null) : null;
      }
      // the form goes now: a later visit to the form must not take up this challenge again
      forgetUnspent();
      say('sending', 'data-gate-sending');
      // ("nothing has been sent yet" is no longer so)
      const kept = document.getElementById('gate-wait-kept');
      if (kept) kept.hidden = true;
      // (the prototype's: a field named "submit" shadows the form's own method)
      HTMLFormElement.prototype.submit.call(form);
    })().catch(() => {
      form.removeAttribute('aria-busy');
      if (button) button.hidden = false;
      say('error', 'data-gate-failed');
    });
  }

  const api = {
    version: 1,
    /**
     * Solves a challenge for `route`; resolves to the solution string. Pass the sign-up's
     * phone number (`{ phone }`) when the gate prices by calling code (only its first digits
     * are sent).
     */
    async solve(route, { phone } = {}) {
      try {
        const { solution, solver } = await obtain(route, (fraction) => emit(document, 'gate:progress', { fraction }), phonePrefix(phone));
        // (no typing time here: a price that rises before the post is answered 402 more_work; see topUp)
        emit(document, 'gate:solved', { solution, solver });
        return solution;
      } catch (err) {
        emit(document, 'gate:error', { code: err.code || 'error', message: String(err.message || err) });
        throw err;
      }
    },
    /**
     * Adds the top-up of a `402 more_work` answer (its parsed JSON body) to `solution`; resolves
     * to the solution to send again (the same request: nothing was spent).
     */
    async topUp(solution, answer) {
      const offer = answer && answer.topup;
      if (!offer) throw new GateError('no_topup');
      const signals = firstOf(solution)[2];
      const { nonces } = await solveParts(offer, signals ? b64.decode(signals) : new Uint8Array(), (fraction) => emit(document, 'gate:progress', { fraction }));
      return `${solution}~${offer.token}.${nonceText(nonces)}`;
    },
    /** What banking is doing now: { state: 'idle' | 'banking' | 'paused' | 'done', threads }. */
    bank,
    /** Attaches the widget to a form added after page load. */
    attach,
    simd,
    /** Whether this page has WebAssembly (else the JavaScript solver runs). */
    wasm: wasmAvailable,
  };
  window.gate = api;

  const init = () => {
    document.querySelectorAll('form[data-gate]').forEach(attach);
    document.querySelectorAll('form[data-gate-topup]').forEach(finishTopUp);
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
