// Load benchmark: throughput and latency of the gate under `wrangler dev` (workerd) on
// loopback, driven by wrk (Debian), each phase bounded in count and in time, with the demo
// origin hit directly as the baseline in the same run:
//
//   direct     wrk -> demo origin, POST /login                 (the baseline)
//   pass       wrk -> gate -> origin, POST /login              (a pass-through route)
//   challenge  wrk -> gate, GET /__gate/challenge?route=/signup (issued at the edge: no
//              origin round trip, no ledger; the price reads the isolate's cohort snapshot)
//   garbage    wrk -> gate, POST /signup, a malformed solution (refused, 400)
//   forged     wrk -> gate, POST /signup, a well-formed solution with a forged signature (403)
//   valid      wrk -> gate -> origin, POST /signup, a distinct solved challenge per request
//              (verify, fingerprint, policy with attack-mode counters, ledger, forward: 201)
//   flood+valid  a challenge flood (as `challenge`) and, at the same time, valid sign-ups
//              over fewer connections (as `valid`): both rates
//   waiting    wrk -> gate, POST /signup on a route with a waiting line that is full: one
//              solved place sent again and again (each `429 in_line`, nothing spent or
//              forwarded), on a gate of its own whose policy gives /signup 1 sign-up a minute
//
// For every gated phase, the Durable Object calls it cost: the gate's stats JSON
// (GET /__gate/stats, bearer STATS_TOKEN) is read 1.5 s after the phase's setup and 1.5 s after
// the phase (so the batched background flushes, at most about one a second, are in), and
// `health.calls` is diffed: request_path + background + stats + panic + spend are object calls,
// per 1,000 requests sent and (without spends) per second (`decisions` are snapshot reads, not
// calls). The counters are per isolate; under `wrangler dev` there is one isolate, so the diff
// is the whole gate's.
//
// And the Durable Object cost of attack mode: valid sign-ups one at a time (-c 1) with the
// cohort counters on and off (gate instances with the same secrets).
//
// The aims of issue 11 are printed next to the measurements, not asserted (this machine's
// cores are shared: ratios, not absolute numbers, are the result).
//
// Usage: node bench/load.mjs [--seconds 10] [--connections 32] [--count 20000]
//                            [--valid-connections 4]   (the sign-ups beside the flood)
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startOrigin, startWranglerDev, randomSecret, testPolicy, challenge, ROOT, env } from '../tests/e2e/harness.mjs';

const execFileP = promisify(execFile);
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SECONDS = arg('seconds', 10);
const CONNECTIONS = arg('connections', 32);
const COUNT = arg('count', 20000);
const VALID_CONNECTIONS = arg('valid-connections', Math.max(2, Math.round(CONNECTIONS / 8)));
/** How long after a phase its object calls are read: batched flushes go at most about once a second. */
const SETTLE_MS = 1500;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const THREADS = Math.min(2, os.cpus().length);
// an honest API client: no browser claims, so the fingerprint prices it at the base
const UA = 'gate-load/1.0';
const DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'gate-load-'));

/** The policy under load: the shipped k = 32 (what verification costs), a low difficulty so
 * thousands of solutions can be made quickly, attack mode counting every cohort kind but with
 * levels no load test reaches (or off). */
const policy = (attack) => testPolicy({
  difficulty: 8,
  k: 32,
  attack: attack
    ? 'enabled = true\ncohorts = ["asn", "ip_prefix", "country", "ua_family", "phone_code"]\nlevels = [{ at = 100000000, busy = true }]\n[attack.cohort_levels]'
    : 'enabled = false',
});

/** The policy of the waiting-line phase: /signup takes 1 sign-up a minute and has a line. */
const linePolicy = () => testPolicy({
  difficulty: 8,
  k: 32,
  attack: 'enabled = true\ncohorts = ["asn"]\nlevels = [{ at = 100000000, busy = true }]\n'
    + '[[attack.capacity]]\nroute = "/signup"\nsignups_per_minute = 1\nperiod_secs = 2\nline_max_wait_secs = 3000',
});

/** A wrk Lua script: fixed method/path/headers/body, optional per-request solutions from a
 * file (each used once), a response quota per thread, and a JSON summary. */
function script({ method, path: p, headers, body = '', solutions = '' }) {
  const lua = `
-- wall-clock microseconds (LuaJIT ffi): wrk keeps running until -d even after every thread
-- stopped at its quota, so the active time is measured here
local ffi = require("ffi")
ffi.cdef[[ typedef struct { long tv_sec; long tv_nsec; } gate_timespec; int clock_gettime(int, gate_timespec *); ]]
local function now_us()
  local t = ffi.new("gate_timespec")
  ffi.C.clock_gettime(1, t)
  return tonumber(t.tv_sec) * 1e6 + tonumber(t.tv_nsec) / 1e3
end
local threads = {}
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  quota = tonumber(args[1])
  nthreads = tonumber(args[2])
  sent = 0
  got = 0
  statuses = {}
  sols = nil
  if ${JSON.stringify(solutions)} ~= "" then
    sols = {}
    for line in io.lines(${JSON.stringify(solutions)}) do sols[#sols + 1] = line end
  end
end
local base = ${luaTable(headers)}
function request()
  if not t0 then t0 = now_us() end
  sent = sent + 1
  local h = {}
  for k, v in pairs(base) do h[k] = v end
  if sols then
    local s = sols[id + (sent - 1) * nthreads + 1]
    h["X-Gate-Solution"] = s or "exhausted"
  end
  return wrk.format(${JSON.stringify(method)}, ${JSON.stringify(p)}, h, ${JSON.stringify(body)})
end
function response(status, headers, body)
  got = got + 1
  t1 = now_us()
  statuses[status] = (statuses[status] or 0) + 1
  if got >= quota then wrk.thread:stop() end
end
function done(summary, latency, requests)
  local all = {}
  local first, last = nil, nil
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses")) do all[code] = (all[code] or 0) + n end
    local a, b = t:get("t0"), t:get("t1")
    if a and (not first or a < first) then first = a end
    if b and (not last or b > last) then last = b end
  end
  local active = (first and last) and (last - first) or summary.duration
  local parts = {}
  for code, n in pairs(all) do parts[#parts + 1] = string.format('"%d":%d', code, n) end
  local e = summary.errors
  local sent_all = 0
  for _, t in ipairs(threads) do sent_all = sent_all + (t:get("sent") or 0) end
  io.write(string.format('WRK_JSON {"requests":%d,"sent":%d,"duration_us":%d,"active_us":%d,"mean_us":%.1f,"p50_us":%d,"p99_us":%d,"max_us":%d,"socket_errors":%d,"statuses":{%s}}\\n',
    summary.requests, sent_all, summary.duration, active, latency.mean, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout, table.concat(parts, ",")))
end
`;
  const file = path.join(DIR, `phase-${Math.random().toString(36).slice(2)}.lua`);
  fs.writeFileSync(file, lua);
  return file;
}

function luaTable(obj) {
  return `{${Object.entries(obj).map(([k, v]) => `[${JSON.stringify(k)}] = ${JSON.stringify(v)}`).join(', ')}}`;
}

/** Runs wrk: at most `count` responses and `seconds` seconds. */
async function wrk(url, spec, { count = COUNT, connections = CONNECTIONS, threads = THREADS, seconds = SECONDS } = {}) {
  const quota = Math.max(1, Math.ceil(count / threads));
  const args = ['-t', String(threads), '-c', String(Math.max(connections, threads)), '-d', `${seconds}s`, '--timeout', '10s',
    '-s', script(spec), url, '--', String(quota), String(threads)];
  const { stdout } = await execFileP('wrk', args, { maxBuffer: 1 << 24 });
  const line = stdout.split('\n').find((l) => l.startsWith('WRK_JSON '));
  if (!line) throw new Error(`no summary from wrk:\n${stdout}`);
  const r = JSON.parse(line.slice(9));
  r.rps = r.requests / (r.active_us / 1e6);
  return r;
}

/** `n` distinct solved challenges for /signup (fetched from the gate, solved natively). */
async function solutions(gateUrl, n) {
  const tokens = [];
  const fetchOne = async () => (await challenge(gateUrl, '/signup', UA)).token;
  for (let i = 0; i < n; i += 64) {
    tokens.push(...await Promise.all(Array.from({ length: Math.min(64, n - i) }, fetchOne)));
  }
  const file = path.join(DIR, `tokens-${n}-${Date.now()}.txt`);
  fs.writeFileSync(file, tokens.join('\n'));
  const { stdout } = await execFileP('bash', ['-c', `"${path.join(ROOT, 'target', 'debug', 'gate')}" solve --batch < "${file}"`], { env, maxBuffer: 1 << 28 });
  const out = path.join(DIR, `solutions-${n}-${Date.now()}.txt`);
  fs.writeFileSync(out, stdout);
  return out;
}

const headers = { 'User-Agent': UA, Accept: 'application/json', 'Accept-Language': 'en-US,en;q=0.9', 'Content-Type': 'application/x-www-form-urlencoded' };
const login = { method: 'POST', path: '/login', headers, body: 'email=member%40example.com&password=correct-horse' };
const signup = { method: 'POST', path: '/signup', headers, body: 'email=new%40example.com&password=correct-horse' };
// what tests/e2e/harness.mjs challenge() asks for: the protected sign-up route, same User-Agent
const { 'Content-Type': _, ...getHeaders } = headers;
const challengeGet = { method: 'GET', path: `/__gate/challenge?route=${encodeURIComponent('/signup')}`, headers: getHeaders };

// ---- object calls: the gate's own counters (docs/operating.md § Stats, docs/attack-mode.md § Attack mode at scale) ----

/** `health.calls` fields that are Durable Object calls; `decisions` are snapshot reads. */
const CALL_FIELDS = ['request_path', 'background', 'stats', 'panic', 'spend'];

/** This isolate's `health.calls` (one isolate under wrangler dev). The read itself flushes the
 * isolate's batch first, so what a phase left waiting is counted by the read after it. */
async function readCalls(gateUrl, token) {
  const r = await fetch(`${gateUrl}/__gate/stats`, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`stats ${r.status}: ${text.slice(0, 300)}`);
  const calls = JSON.parse(text).health?.calls;
  if (!calls) throw new Error(`stats without health.calls: ${text.slice(0, 300)}`);
  return calls;
}

function diffCalls(before, after) {
  const d = {};
  // a field this build does not report yet stays null (shown as "-", counted as 0)
  for (const k of [...CALL_FIELDS, 'decisions']) d[k] = k in after ? after[k] - (before[k] ?? 0) : null;
  d.total = CALL_FIELDS.reduce((a, k) => a + (d[k] ?? 0), 0);
  return d;
}

/** Runs a phase between two stats reads, each SETTLE_MS after the traffic before it: the first
 * read then also sends the refreshes that setup requests (a challenge fetched to build the
 * phase) left due, so they are not charged to the phase. `seconds`: between the two reads. */
async function measured(gateUrl, token, run) {
  await sleep(SETTLE_MS);
  const before = await readCalls(gateUrl, token);
  const t0 = performance.now();
  const result = await run();
  await sleep(SETTLE_MS);
  const after = await readCalls(gateUrl, token);
  return { result, calls: { ...diffCalls(before, after), seconds: (performance.now() - t0) / 1000 } };
}

// ---- printing ----

const us = (v) => (v / 1000).toFixed(2).padStart(9);
const metText = (ok) => (ok ? 'met' : 'NOT met');
/** One phase: its rate and latency, and ratios against the direct baseline and (for gated
 * phases) against pass-through, which is wrangler dev's own floor. `aim`: the least rps/pass. */
function row(name, r, base, pass, { note = '', aim } = {}) {
  const ok = Object.entries(r.statuses).map(([c, n]) => `${n}x${c}`).join(' ');
  const ratio = (a, b) => (b ? (a / b).toFixed(2) : '').padStart(9);
  const aimText = aim === undefined ? '' : `   aim rps/pass >= ${aim.toFixed(1)}: ${metText(r.rps / pass.rps >= aim)}`;
  console.log(`  ${name.padEnd(12)}${r.requests.toString().padStart(8)}${r.rps.toFixed(0).padStart(9)}${us(r.p50_us)}${us(r.p99_us)}`
    + `${ratio(r.rps, base?.rps)}${ratio(r.p99_us, base?.p99_us)}${ratio(r.rps, pass?.rps)}${ratio(r.p99_us, pass?.p99_us)}`
    + `   ${ok}${r.socket_errors ? ` ${r.socket_errors} socket errors` : ''}${note}${aimText}`);
}

/** One phase's object calls per 1,000 requests the gate was sent, and per second of the
 * measured window (the phase and its settling). `aim`: the most per 1,000. */
function callRow(name, sent, c, { aim, note = '' } = {}) {
  const n = (v) => (v === null ? '-' : String(v)).padStart(9);
  const per = sent ? (c.total * 1000) / sent : 0;
  const aimText = aim === undefined ? '' : `   aim <= ${aim}: ${metText(per <= aim + 1e-9)}`;
  const nonSpend = c.total - (c.spend ?? 0);
  console.log(`  ${name.padEnd(12)}${String(sent).padStart(8)}${CALL_FIELDS.map((k) => n(c[k])).join('')}${n(c.total)}`
    + `${(sent ? per.toFixed(2) : '-').padStart(10)}${(nonSpend / c.seconds).toFixed(2).padStart(11)}${n(c.decisions)}${aimText}${note}`);
}

async function main() {
  const originSecret = randomSecret();
  const statsToken = randomSecret();
  const secrets = { GATE_SECRET: randomSecret(), ORIGIN_SECRET: originSecret, STATS_TOKEN: statsToken };
  const vars = { CHALLENGE_TTL: '3600' };
  const origin = await startOrigin({ originSecret });
  const results = {};
  // the main gate runs with wrangler.toml's counter shards (the serial rows set their own)
  const cohortShards = fs.readFileSync(path.join(ROOT, 'wrangler.toml'), 'utf8').match(/^COHORT_SHARDS\s*=\s*"(\d+)"/m)?.[1] ?? '?';
  const posts = async () => (await origin.records()).filter((r) => r.method === 'POST').length;
  let gate;
  try {
    console.log(`load: wrk ${THREADS} threads, ${CONNECTIONS} connections (${VALID_CONNECTIONS} for the sign-ups beside the flood), each phase at most ${COUNT} responses and ${SECONDS} s; ${os.cpus().length} cores (${os.cpus()[0].model})`);
    results.direct = await wrk(origin.url, login);
    await origin.reset();

    gate = await startWranglerDev({ origin: origin.url, secrets, vars: { ...vars, POLICY: policy(true) } });
    const phase = async (run) => {
      const { result, calls } = await measured(gate.url, statsToken, run);
      return Object.assign(result, { calls });
    };
    // what measuring costs: two stats reads SETTLE_MS apart, no traffic between them
    results.idle = { calls: (await measured(gate.url, statsToken, async () => null)).calls };
    // warm the isolate's snapshot (its cold shards are awaited once, then refreshed in the background)
    await challenge(gate.url, '/signup', UA);
    results.pass = await phase(() => wrk(gate.url, login));
    await origin.reset();
    results.challenge = await phase(() => wrk(gate.url, challengeGet));
    results.challenge.origin = (await origin.records()).length;
    await origin.reset();
    results.garbage = await phase(() => wrk(gate.url, { ...signup, headers: { ...headers, 'X-Gate-Solution': 'not-a-solution' } }));
    // a real solution's layout, re-signed with another key
    const real = (await challenge(gate.url, '/signup', UA)).token;
    const forged = Buffer.from(real, 'base64url');
    forged[forged.length - 1] ^= 1;
    results.forged = await phase(() => wrk(gate.url, { ...signup, headers: { ...headers, 'X-Gate-Solution': `${forged.toString('base64url')}.${Buffer.alloc(8 * 32).toString('base64url')}` } }));
    const refusedReached = (await origin.records()).length;
    await origin.reset();

    // as many solutions as the gate could take in the time bound (the garbage rate is an upper bound)
    const needed = Math.min(COUNT, Math.ceil(results.garbage.rps * SECONDS * 1.1)) + CONNECTIONS + THREADS;
    process.stderr.write(`preparing ${needed} solved challenges...\n`);
    const pool = await solutions(gate.url, needed);
    results.valid = await phase(() => wrk(gate.url, { ...signup, solutions: pool }, { count: needed - CONNECTIONS - THREADS }));
    const forwarded = await posts();
    const logged = gate.logLines().find((l) => l.action === 'forward' && l.cohorts);
    const keys = logged ? logged.cohorts.map(([k]) => k.split(':')[0]) : [];
    await origin.reset();

    // a challenge flood with valid sign-ups beside it, over fewer connections (one wrk thread)
    const neededBeside = Math.min(COUNT, Math.ceil(results.valid.rps * SECONDS * 1.1)) + VALID_CONNECTIONS + 1;
    process.stderr.write(`preparing ${neededBeside} solved challenges for the sign-ups beside the flood...\n`);
    const besidePool = await solutions(gate.url, neededBeside);
    const both = await measured(gate.url, statsToken, () => Promise.all([
      wrk(gate.url, challengeGet),
      wrk(gate.url, { ...signup, solutions: besidePool }, { count: neededBeside - VALID_CONNECTIONS - 1, connections: VALID_CONNECTIONS, threads: 1 }),
    ]));
    [results.flood, results.beside] = both.result;
    results.flood_valid = { calls: both.calls };
    const forwardedBeside = await posts();
    await origin.reset();

    // attack mode's Durable Object cost: valid sign-ups one at a time, with the counters off
    // and on over 1, 4 and 16 shards (gate instances with the same secrets, so solutions
    // fetched from one are valid at the next)
    const serial = 300;
    const configs = [['counters off', false, 16], ['on, 1 shard', true, 1], ['on, 4 shards', true, 4], ['on, 16 shards', true, 16]];
    results.serial = [];
    for (const [name, attack, shards] of configs) {
      const pool = await solutions(gate.url, serial + 2);
      await gate.stop();
      gate = await startWranglerDev({ origin: origin.url, secrets, vars: { ...vars, POLICY: policy(attack), COHORT_SHARDS: String(shards) } });
      const r = await wrk(gate.url, { ...signup, solutions: pool }, { count: serial, connections: 1, threads: 1 });
      results.serial.push({ name, shards, attack, ...r });
    }
    results.serial_direct = await wrk(origin.url, login, { count: serial, connections: 1, threads: 1 });

    // the waiting line's cost: a full route, one place asked again and again
    await gate.stop();
    gate = await startWranglerDev({ origin: origin.url, secrets, vars: { ...vars, POLICY: linePolicy() } });
    await origin.reset();
    const [fill, place] = fs.readFileSync(await solutions(gate.url, 2), 'utf8').trim().split('\n');
    const filled = await fetch(`${gate.url}/signup`, { method: 'POST', headers: { ...headers, 'X-Gate-Solution': fill }, body: signup.body });
    if (filled.status !== 201) throw new Error(`the line phase's first sign-up: ${filled.status} ${await filled.text()}`);
    results.waiting = await phase(() => wrk(gate.url, { ...signup, headers: { ...headers, 'X-Gate-Solution': place } }));
    results.waiting.origin = (await posts()) - 1;

    const { direct, pass } = results;
    console.log(`\n  ${'phase'.padEnd(12)}${'requests'.padStart(8)}${'req/s'.padStart(9)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}`
      + `${'rps/dir'.padStart(9)}${'p99/dir'.padStart(9)}${'rps/pass'.padStart(9)}${'p99/pass'.padStart(9)}   statuses`);
    row('direct', direct);
    row('pass', pass, direct);
    row('challenge', results.challenge, direct, pass, { note: `   (${results.challenge.origin} reached the origin)`, aim: 1.0 });
    row('garbage', results.garbage, direct, pass, { aim: 1.0 });
    row('forged', results.forged, direct, pass, { note: refusedReached ? `   (${refusedReached} refused reached the origin!)` : '' });
    row('valid', results.valid, direct, pass, { note: `   (${forwarded} reached the origin)`, aim: 0.5 });
    row('flood', results.flood, direct, pass, { note: '   (challenges, beside the sign-ups below)' });
    row(' +valid', results.beside, direct, pass, { note: `   (${forwardedBeside} reached the origin; ${VALID_CONNECTIONS} connections, during the flood)` });
    console.log(`  the ${VALID_CONNECTIONS}-connection sign-ups beside the flood ran at ${(results.beside.rps / results.valid.rps).toFixed(2)}x the ${CONNECTIONS}-connection valid phase; flood + sign-ups together ${((results.flood.rps + results.beside.rps) / pass.rps).toFixed(2)}x pass-through`);

    console.log(`\n  Durable Object calls per phase: this isolate's health.calls from GET /__gate/stats, read ${SETTLE_MS / 1000} s after the setup`
      + `\n  before the phase and ${SETTLE_MS / 1000} s after it, so the batched background flushes (at most about one a second) are included; one isolate`
      + `\n  under wrangler dev; COHORT_SHARDS = ${cohortShards} (wrangler.toml). "sent" counts the requests still in flight when wrk stopped.`);
    console.log(`  "calls/s w/o spend": the calls other than ledger spends, per second of the measured window (the phase + ${SETTLE_MS / 1000} s).`);
    console.log(`  ${'phase'.padEnd(12)}${'sent'.padStart(8)}${['req_path', 'backgr', 'stats', 'panic', 'spend', 'calls'].map((h) => h.padStart(9)).join('')}`
      + `${'per 1,000'.padStart(10)}${'calls/s'.padStart(11)}${'decided'.padStart(9)}`);
    console.log(`  ${''.padEnd(12)}${''.padStart(8)}${''.padStart(54)}${''.padStart(10)}${'w/o spend'.padStart(11)}`);
    callRow('idle', 0, results.idle.calls, { note: '   (two stats reads, no traffic: what measuring adds to a row)' });
    callRow('pass', pass.sent, pass.calls);
    callRow('challenge', results.challenge.sent, results.challenge.calls, { aim: 0 });
    callRow('garbage', results.garbage.sent, results.garbage.calls, { aim: 0 });
    callRow('forged', results.forged.sent, results.forged.calls, { aim: 0 });
    callRow('valid', results.valid.sent, results.valid.calls, { aim: 1050, note: `   (1.05 per sign-up: its spend + ${((results.valid.calls.total - (results.valid.calls.spend ?? 0)) / results.valid.sent).toFixed(3)} other; ${forwarded} forwarded)` });
    const fv = results.flood_valid.calls;
    const fvSent = results.flood.sent + results.beside.sent;
    // derived aim: 0 per challenge, 1.05 per sign-up
    const fvAim = Math.round((1050 * results.beside.sent) / fvSent * 100) / 100;
    callRow('waiting', results.waiting.sent, results.waiting.calls, { aim: 0, note: `   (one place in a full line asked again: ${Object.entries(results.waiting.statuses).map(([c, n]) => `${n}x${c}`).join(' ')}; ${results.waiting.origin} reached the origin)` });
    callRow('flood+valid', fvSent, fv, { aim: fvAim, note: `   (0 per challenge + 1.05 per sign-up; ${results.beside.sent} sign-ups sent: ${fv.spend ?? '-'} spends, ${fv.total - (fv.spend ?? 0)} other calls)` });

    const off = results.serial[0];
    console.log(`\n  one at a time (-c 1), ${serial} valid sign-ups per row (the Durable Object cost of attack mode):`);
    console.log(`    ${'direct to origin (POST /login)'.padEnd(32)} mean ${us(results.serial_direct.mean_us)} ms`);
    for (const r of results.serial) {
      const extra = r === off ? '' : `   counters add ${((r.mean_us - off.mean_us) / 1000).toFixed(2)} ms (mean)`;
      const ok = Object.entries(r.statuses).map(([c, n]) => `${n}x${c}`).join(' ');
      console.log(`    ${r.name.padEnd(32)} mean ${us(r.mean_us)} ms   p99 ${us(r.p99_us)} ms${extra}   ${ok}`);
    }
    console.log(`    ${keys.length} counters per sign-up (${keys.join(', ')}), read and incremented in parallel, one call per shard they fall in`);
    console.log(`\nLOAD_JSON ${JSON.stringify(results)}`);
  } finally {
    await gate?.stop();
    await origin.stop();
    fs.rmSync(DIR, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
