// Starts the real pieces for end-to-end tests and stops them afterwards: the demo origin (a Rust
// binary) on a free 127.0.0.1 port, and the Worker in one of two runtimes: `startWranglerDev`
// (`wrangler dev`, workerd behind wrangler's local proxy, its own port, state directory and
// secrets file) or `startMiniflare` (the built bundle in workerd through Miniflare, so each
// request can carry its own `request.cf`); `liveGate` starts them for one `describe`. Nothing
// here mocks the gate, the ledger or the origin. Both runtimes give `waitForLog` (fails when no
// matching log line arrives in time) and `noLogWithin` (fails when one does).
import { before, after, beforeEach } from 'node:test';
import { spawn, execFile } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import { parse as parseToml } from 'smol-toml';

export const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN_DIR = path.join(ROOT, 'target', 'debug');
const WRANGLER = path.join(ROOT, 'node_modules', '.bin', 'wrangler');

export const env = {
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  PATH: `${path.join(ROOT, 'node_modules', '.bin')}:${path.join(os.homedir(), '.cargo', 'bin')}:${process.env.PATH}`,
};

export function randomSecret() {
  return crypto.randomBytes(32).toString('base64url');
}

export async function freePort() {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  srv.close();
  await once(srv, 'close');
  return port;
}

function tmpdir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Kills a detached child and its process group (wrangler leaves workerd otherwise). */
async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
  const timer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 5000);
  await exited;
  clearTimeout(timer);
}

/** Waits until `pattern` appears in the child's combined output. */
function waitFor(child, output, pattern, what, timeoutMs = 120_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} not ready after ${timeoutMs} ms:\n${output.text.slice(-3000)}`)), timeoutMs);
    const check = () => {
      const m = output.text.match(pattern);
      if (m) { clearTimeout(timer); resolve(m); }
    };
    output.listeners.push(check);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${what} exited with ${code}:\n${output.text.slice(-3000)}`)); });
    check();
  });
}

function capture(child) {
  const output = { text: '', listeners: [] };
  const onData = (d) => { output.text += d.toString(); for (const l of output.listeners) l(); };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return output;
}

/**
 * The demo origin on a free port (or on `port`, to start it again where a Worker expects it).
 * `records()` is what it received, in order.
 */
export async function startOrigin({ originSecret, port = 0 }) {
  const child = spawn(path.join(BIN_DIR, 'demo-origin'), ['--port', String(port), '--dev-vars', '/nonexistent'], {
    env: { ...env, ORIGIN_SECRET: originSecret },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = capture(child);
  const m = await waitFor(child, output, /listening on (http:\/\/127\.0\.0\.1:\d+)/, 'demo-origin', 30_000);
  const url = m[1];
  return {
    url,
    output,
    async records() {
      const r = await fetch(`${url}/__origin/records`);
      return (await r.json()).records;
    },
    /** The POSTs it received (to `path` only, when given). */
    async posts(path) {
      return (await this.records()).filter((r) => r.method === 'POST' && (!path || r.path === path));
    },
    async reset() {
      await fetch(`${url}/__origin/records`, { method: 'DELETE' });
    },
    stop: () => stopChild(child),
  };
}

/**
 * The Worker under `wrangler dev` on a free port. `vars` override wrangler.toml [vars];
 * `secrets` go in a private env file (so the developer's .dev.vars is never read);
 * `config` picks another wrangler config (fixtures).
 */
export async function startWranglerDev({ origin, secrets, vars = {}, config = 'wrangler.toml' }) {
  const port = await freePort();
  const inspector = await freePort();
  const dir = tmpdir('gate-e2e-');
  const envFile = path.join(dir, 'secrets.env');
  fs.writeFileSync(envFile, Object.entries(secrets).map(([k, v]) => `${k}=${v}\n`).join(''), { mode: 0o600 });
  const args = [
    'dev', '--local', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector),
    '--show-interactive-dev-session=false', '--persist-to', path.join(dir, 'state'),
    '--env-file', envFile, '--config', config,
  ];
  for (const [k, v] of Object.entries({ ORIGIN: origin, ...vars })) args.push('--var', `${k}:${v}`);
  const child = spawn(WRANGLER, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = capture(child);
  await waitFor(child, output, /Ready on http:\/\/127\.0\.0\.1:\d+/, 'wrangler dev');
  const url = `http://127.0.0.1:${port}`;
  // wrangler prints Ready a moment before workerd answers: wait for a real response
  for (let i = 0; i < 100; i++) {
    try { await fetch(`${url}/__gate/health-probe`); break; } catch { await new Promise((r) => setTimeout(r, 100)); }
  }
  return {
    url,
    output,
    /** The structured log lines the Worker printed so far. */
    logLines() {
      return output.text.split('\n').map((l) => l.replace(/\x1b\[[0-9;]*m/g, '')).flatMap((l) => {
        const i = l.indexOf('{"');
        if (i < 0) return [];
        try { return [JSON.parse(l.slice(i))]; } catch { return []; }
      }).filter((j) => j.gate);
    },
    /** The first log line matching `pred`, waiting up to 10 s (wrangler prints them asynchronously); throws if none comes. */
    waitForLog(pred, timeoutMs = 10_000) { return waitForLog(() => this.logLines(), pred, timeoutMs); },
    /** Throws if a log line matching `pred` is printed within `ms` (asserts an absence). */
    noLogWithin(pred, ms = 1000) { return noLogWithin(() => this.logLines(), pred, ms); },
    stop: async () => { await stopChild(child); fs.rmSync(dir, { recursive: true, force: true }); },
  };
}

/** The first of `lines()` matching `pred`, polled until `timeoutMs`; throws with the lines seen if none matches. */
async function waitForLog(lines, pred, timeoutMs) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const hit = lines().find(pred);
    if (hit) return hit;
    if (Date.now() > end) {
      const seen = lines().slice(-10).map((l) => JSON.stringify(l)).join('\n');
      throw new Error(`no log line matching ${pred} within ${timeoutMs} ms; the last lines were:\n${seen}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Watches `lines()` for `ms` and throws if one matches `pred`. */
async function noLogWithin(lines, pred, ms) {
  const end = Date.now() + ms;
  for (;;) {
    const hit = lines().find(pred);
    if (hit) throw new Error(`unexpected log line matching ${pred}: ${JSON.stringify(hit)}`);
    if (Date.now() > end) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const execFileP = promisify(execFile);

/** Runs the native `gate` CLI. */
export async function gateCli(...args) {
  const { stdout } = await execFileP(path.join(BIN_DIR, 'gate'), args, { env, maxBuffer: 1 << 24 });
  return stdout.trim();
}

/** Runs the CLI; resolves to its stdout and stderr (what it says while it waits). */
export async function gateCliResult(...args) {
  const { stdout, stderr } = await execFileP(path.join(BIN_DIR, 'gate'), args, { env, maxBuffer: 1 << 24 });
  return { stdout: stdout.trim(), stderr };
}

/** Fetches a challenge JSON for `route` with this User-Agent. */
export async function challenge(gateUrl, route, userAgent = 'gate-e2e/1.0') {
  const r = await fetch(`${gateUrl}/__gate/challenge?route=${encodeURIComponent(route)}`, { headers: { 'User-Agent': userAgent } });
  if (r.status !== 200) throw new Error(`challenge ${r.status}: ${await r.text()}`);
  return r.json();
}

/** Fetches and solves (with the native CLI) a challenge; returns the solution string. */
export async function solved(gateUrl, route, userAgent = 'gate-e2e/1.0', signals = '') {
  const c = await challenge(gateUrl, route, userAgent);
  return gateCli('solve', '--token', c.token, '--signals', signals);
}

/**
 * A TOML policy as the Worker's POLICY var takes it: JSON (what `gate policy json` prints; the
 * Worker carries no TOML parser). Converted with an independent TOML parser (smol-toml), so a
 * test can hand over invalid policies too.
 */
export function policyJson(toml) {
  return JSON.stringify(parseToml(toml));
}

/**
 * A policy for tests (docs/policy.md), as JSON for the POLICY var: a small base price (12 bits
 * x 8) so native solving is quick, the demo's routes, attack mode off unless `attack` gives its
 * keys; `routes` and `rules` add TOML to those sections.
 */
export function testPolicy(options = {}) {
  return policyJson(testPolicyToml(options));
}

/** The tests' policy file (shared with tests/common/driver.rs), its {placeholders} to fill. */
const TEST_POLICY = fs.readFileSync(path.join(ROOT, 'tests', 'data', 'policy', 'test.toml'), 'utf8');

/** The same policy as the TOML file an operator writes. */
export function testPolicyToml({ difficulty = 12, k = 8, shadow = false, routes = '', attack = 'enabled = false', rules = '' } = {}) {
  const values = { difficulty, k, shadow, routes, attack, rules };
  return TEST_POLICY.replace(/\{(\w+)\}/g, (_, name) => {
    if (!(name in values)) throw new Error(`tests/data/policy/test.toml: no value for {${name}}`);
    return String(values[name]);
  });
}

/**
 * The built Worker (build/index.js) in workerd through Miniflare, with its real Durable Objects
 * (ledger, cohort counters, stats), so each request can carry its own `request.cf`.
 * `logs()` are the structured lines it printed. `persist` keeps the objects' state in that
 * directory (so a test can restart the runtime); `flakyCohorts` puts the counter binding behind
 * tests/e2e/fixtures/flaky-cohorts.mjs, which forwards to the real counters until told to fail.
 * `isolates` > 1 runs that many copies of the Worker, each in its own isolate (its own counters
 * and controller, as Cloudflare runs many) over the same Durable Objects; `isolate(i)` fetches
 * from the i-th copy (through `dispatchFetch`, which keeps `cf`, by the copy's own route;
 * `dispatchFetch` alone goes to the first).
 */
export async function startMiniflare({ origin, bindings, persist, flakyCohorts = false, isolates = 1 }) {
  const { Miniflare } = await import('miniflare');
  const lines = [];
  const compatibilityDate = '2026-04-01';
  const gate = {
    name: 'gate',
    scriptPath: path.join(ROOT, 'build', 'index.js'),
    modules: true,
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate,
    durableObjects: {
      LEDGER: { className: 'Ledger', useSQLite: true },
      COHORTS: flakyCohorts ? { className: 'FlakyCohorts', scriptName: 'flaky' } : { className: 'Cohorts', useSQLite: true },
      STATS: { className: 'Stats', useSQLite: true },
      // the real counters, reached only through the flaky binding
      ...(flakyCohorts && { REAL_COHORTS: { className: 'Cohorts', useSQLite: true } }),
    },
    bindings: { ORIGIN: origin, ...bindings },
  };
  const flaky = {
    name: 'flaky',
    modules: true,
    scriptPath: path.join(ROOT, 'tests', 'e2e', 'fixtures', 'flaky-cohorts.mjs'),
    compatibilityDate,
    durableObjects: {
      FLAKY: { className: 'FlakyCohorts', useSQLite: true },
      REAL: { className: 'Cohorts', scriptName: 'gate', useSQLite: true },
    },
  };
  // the other isolates: the same script and bindings, the first one's objects
  const copies = Array.from({ length: Math.max(0, isolates - 1) }, (_, i) => ({
    ...gate,
    name: `gate-${i + 1}`,
    routes: [`isolate-${i + 1}.gate.test/*`],
    durableObjects: Object.fromEntries(
      Object.entries(gate.durableObjects).map(([k, v]) => [k, { className: v.className, scriptName: v.scriptName ?? 'gate' }]),
    ),
  }));
  const mf = new Miniflare({
    ...(persist && { durableObjectsPersist: persist }),
    workers: [gate, ...(flakyCohorts ? [flaky] : []), ...copies],
    handleRuntimeStdio(stdout, stderr) {
      for (const s of [stdout, stderr]) {
        s.on('data', (d) => {
          for (const l of String(d).split('\n')) if (l.includes('"gate"')) lines.push(l.slice(l.indexOf('{')));
        });
      }
    },
  });
  await mf.ready;
  const on = (i) => (url, init) => {
    const n = i % isolates;
    if (n === 0) return mf.dispatchFetch(url, init);
    const u = new URL(url);
    u.host = `isolate-${n}.gate.test`;
    return mf.dispatchFetch(u.toString(), init);
  };
  return {
    mf,
    isolate: (i) => ({ fetch: on(i) }),
    logs: () => lines.flatMap((l) => { try { return [JSON.parse(l)]; } catch { return []; } }),
    /** The first log line matching `pred`, waiting up to 5 s (stdout arrives asynchronously); throws if none comes. */
    waitForLog(pred, timeoutMs = 5000) { return waitForLog(() => this.logs(), pred, timeoutMs); },
    /** Throws if a log line matching `pred` is printed within `ms` (asserts an absence). */
    noLogWithin(pred, ms = 1000) { return noLogWithin(() => this.logs(), pred, ms); },
    stop: () => mf.dispose(),
  };
}

/**
 * What one `describe` tests against, started in its `before` and stopped in its `after`: the
 * demo origin, the Worker in front of it, and with `browser: true` headless Chromium
 * (browser.mjs `launch`). The Worker runs under `wrangler dev` (`runtime: 'wrangler'`, options
 * as startWranglerDev takes them) or in Miniflare (`runtime: 'miniflare'`, as startMiniflare
 * takes them); `worker` gives its options (a function is called at start, after the suite's
 * earlier `before` hooks), or `null` when each test starts its own with `live.startWorker`.
 * Either way the Worker is this suite's origin with this suite's `GATE_SECRET` and
 * `ORIGIN_SECRET` (`live.gateSecret`, `live.originSecret`) unless the options override them.
 * The origin's record is cleared before each test unless `reset: false`; with `persist: true`
 * the Miniflare objects keep their state in a directory that `live.restart()` reuses.
 */
export function liveGate({ runtime = 'wrangler', worker = {}, browser = false, reset = true, persist = false } = {}) {
  const live = {
    originSecret: randomSecret(),
    gateSecret: randomSecret(),
    origin: null,
    /** The Worker started in `before` (startWranglerDev's or startMiniflare's handle). */
    gate: null,
    browser: null,
    persist: persist ? tmpdir('gate-persist-') : undefined,
    /** The options the suite's Worker was started with. */
    workerOptions: undefined,
    /** Starts a Worker with these options in front of the suite's origin; the caller stops it. */
    startWorker(options = {}) {
      const secrets = { GATE_SECRET: live.gateSecret, ORIGIN_SECRET: live.originSecret };
      if (runtime === 'miniflare') {
        return startMiniflare({ persist: live.persist, ...options, origin: live.origin.url, bindings: { ...secrets, ...options.bindings } });
      }
      return startWranglerDev({ ...options, origin: live.origin.url, secrets: { ...secrets, ...options.secrets } });
    },
    /** Stops the suite's Worker and starts it again with the same options (and persisted state). */
    async restart() {
      await live.gate.stop();
      live.gate = await live.startWorker(live.workerOptions);
    },
  };
  before(async () => {
    live.origin = await startOrigin({ originSecret: live.originSecret });
    if (worker) {
      live.workerOptions = typeof worker === 'function' ? worker() : worker;
      live.gate = await live.startWorker(live.workerOptions);
    }
    if (browser) live.browser = await (await import('./browser.mjs')).launch();
  });
  after(async () => {
    await live.browser?.close();
    await live.gate?.stop();
    await live.origin?.stop();
    if (live.persist) fs.rmSync(live.persist, { recursive: true, force: true });
  });
  if (reset) beforeEach(() => live.origin.reset());
  return live;
}
