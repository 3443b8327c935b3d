// Peer proof-of-work solvers, measured in headless Chromium the way their
// widgets run them (dedicated Web Workers, the packages' own worker code).
//
//   measurePeers(page, baseUrl, { seconds }) -> [{ name, hash, singleThreadHps,
//       allThreadsHps, threads, notes, ... }]
//   peerPayloads() -> [{ name, files: [{ path, raw, gzip, why }], raw, gzip }]
//
// `baseUrl` must serve the mapping returned by peerRoots():
//   '/'              -> bench/browser   (peers/index.html, peers/*.js)
//   '/node_modules/' -> <repo>/node_modules
// e.g. `const { url } = await serve(peerRoots())`.
//
// Counting: every peer searches sequentially from 0, so a solution at
// counter/nonce n means n+1 hash evaluations (the WebCrypto baseline does a
// fixed N per task). Only tasks completed inside the window are counted; the
// window ends at the last completion. Samples of the solutions are checked
// here in Node (valid solution, and for a few, that no smaller nonce works).

import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { gzipSync, constants as zlibConstants } from 'node:zlib';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..', '..');
const NODE_MODULES = join(REPO, 'node_modules');
const require = createRequire(import.meta.url);

export function peerRoots() {
  return { '/': HERE, '/node_modules/': NODE_MODULES };
}

async function pkgVersion(name) {
  const pkg = JSON.parse(await readFile(join(NODE_MODULES, name, 'package.json'), 'utf8'));
  return pkg.version;
}

// --- difficulty / task parameters (mean solve ~5-50 ms on this class of machine)

const CAP_PARAMS = { saltHexChars: 32, targetHexChars: 4 }; // Cap server defaults: s=32, d=4 -> 16 bits, ~65,536 tries
const ALTCHA_COUNTER_RANGE = [2000, 6000]; // known counter (deterministic mode), uniform: mean 4,000 tries
const FRIENDLY_DIFFICULTY = 120; // threshold 2^(135.999/8) ~ 2^17 -> ~32,768 tries expected
const WEBCRYPTO_N = 4000; // digests per task

// --- challenge generation for altcha (server side: altcha-lib)

function randomIntIn([lo, hi]) {
  return lo + Math.floor(Math.random() * (hi - lo + 1));
}

async function altchaChallenges(version, count) {
  const out = [];
  if (version === 2) {
    const { createChallenge } = await import('altcha-lib');
    const { deriveKey } = await import('altcha-lib/algorithms/sha');
    for (let i = 0; i < count; i++) {
      const counter = randomIntIn(ALTCHA_COUNTER_RANGE);
      const challenge = await createChallenge({ algorithm: 'SHA-256', cost: 1, counter, deriveKey });
      out.push({ id: i, counter, challenge });
    }
  } else {
    const { createChallenge } = await import('altcha-lib/v1');
    for (let i = 0; i < count; i++) {
      const number = randomIntIn(ALTCHA_COUNTER_RANGE);
      const challenge = await createChallenge({ hmacKey: 'bench-only', number, maxNumber: 100_000 });
      out.push({ id: i, counter: number, challenge });
    }
  }
  return out;
}

// --- verification of samples (Node side)

function capHashOk(salt, target, nonce) {
  return createHash('sha256').update(`${salt}${nonce}`).digest('hex').startsWith(target);
}

function verifyCap(samples, minimalChecks = 2) {
  let checked = 0;
  for (const s of samples) {
    if (!capHashOk(s.salt, s.target, s.nonce)) throw new Error(`cap: invalid solution ${JSON.stringify(s)}`);
  }
  for (const s of samples.slice(0, minimalChecks)) {
    for (let n = 0; n < s.nonce; n++) {
      if (capHashOk(s.salt, s.target, n)) throw new Error(`cap: nonce ${n} < ${s.nonce} also solves; tries miscounted`);
    }
    checked++;
  }
  return `${samples.length} solutions valid (SHA-256(salt+nonce) hex prefix), ${checked} checked minimal`;
}

function verifyAltcha(samples, challenges) {
  const byId = new Map(challenges.map((c) => [c.id, c]));
  for (const s of samples) {
    const c = byId.get(s.id);
    if (!c || c.counter !== s.counter) {
      throw new Error(`altcha: solver returned counter ${s.counter}, challenge was made with ${c?.counter}`);
    }
  }
  return `${samples.length} solutions equal the server-chosen counter`;
}

function friendlyBlake2b(inputHex) {
  const { blake2b } = require('friendly-pow/node/blake2b/blake2b.js');
  return blake2b(Uint8Array.from(Buffer.from(inputHex, 'hex')), null, 32);
}

function friendlyOk(input, threshold) {
  const h = friendlyBlake2b(Buffer.from(input).toString('hex'));
  return (h[0] | (h[1] << 8) | (h[2] << 16) | (h[3] << 24)) >>> 0 < threshold;
}

function verifyFriendly(samples, minimalChecks = 2) {
  let checked = 0;
  for (const s of samples) {
    if (s.outer !== 0) throw new Error('friendly: outer loop advanced (2^32 nonces exhausted?)');
    if (!friendlyOk(Buffer.from(s.input, 'hex'), s.threshold)) throw new Error(`friendly: invalid solution ${s.input}`);
    if (s.h !== s.nonce) throw new Error(`friendly: widget h=${s.h} != nonce ${s.nonce}`);
  }
  for (const s of samples.slice(0, minimalChecks)) {
    const buf = Buffer.from(s.input, 'hex');
    for (let n = 0; n < s.nonce; n++) {
      buf.writeUInt32LE(n, 124);
      if (friendlyOk(buf, s.threshold)) throw new Error(`friendly: nonce ${n} < ${s.nonce} also solves`);
    }
    checked++;
  }
  return `${samples.length} solutions valid (BLAKE2b-256 first u32 LE < threshold), ${checked} checked minimal; widget's own h = nonce (1 less than tries)`;
}

function verifyWebcrypto(samples) {
  for (const s of samples) if (s.tries !== s.n) throw new Error('webcrypto: tries != n');
  return `${samples.length} tasks did exactly ${WEBCRYPTO_N} digests`;
}

// --- peer table

export const PEERS = [
  {
    name: 'cap',
    pkgs: ['@cap.js/wasm', '@cap.js/widget'],
    hash: 'SHA-256',
    peer: 'cap',
    params: () => CAP_PARAMS,
    verify: (samples) => verifyCap(samples),
    notes: (v) =>
      `@cap.js/widget ${v['@cap.js/widget']} worker (src/worker.js) + @cap.js/wasm ${v['@cap.js/wasm']} ` +
      `browser/cap_wasm_bg.wasm (Rust sha2 crate). One try = SHA-256(salt hex string + decimal nonce), ` +
      `compared with a ${CAP_PARAMS.targetHexChars}-hex-digit target prefix; tries = nonce+1. ` +
      `Widget default fetches @cap.js/wasm@0.0.7 from a CDN; 0.0.7 is not on npm, 0.0.6 used. ` +
      `Widget uses hardwareConcurrency workers, one challenge per worker.`,
  },
  {
    name: 'altcha',
    pkgs: ['altcha', 'altcha-lib'],
    hash: 'SHA-256 (WebCrypto)',
    peer: 'altcha',
    version: 2,
    params: async (count) => ({ version: 2, challenges: await altchaChallenges(2, count) }),
    verify: (samples, params) => verifyAltcha(samples, params.challenges),
    notes: (v) =>
      `altcha ${v.altcha} widget worker dist/workers/sha.js, challenges from altcha-lib ${v['altcha-lib']} ` +
      `createChallenge({algorithm:'SHA-256', cost:1, counter}) (v2, deterministic). One try = one ` +
      `await crypto.subtle.digest('SHA-256', salt16||nonce16||counterBE32); tries = counter+1. ` +
      `The widget splits one challenge over min(16, hardwareConcurrency) workers (4 if deviceMemory<=4) ` +
      `with interleaved counters; here each worker solves its own challenges (same hash work, countable).`,
  },
  {
    name: 'altcha-v1',
    pkgs: ['altcha', 'altcha-lib'],
    hash: 'SHA-256 (WebCrypto)',
    peer: 'altcha',
    version: 1,
    params: async (count) => ({ version: 1, challenges: await altchaChallenges(1, count) }),
    verify: (samples, params) => verifyAltcha(samples, params.challenges),
    notes: (v) =>
      `Legacy v1 challenge (altcha-lib ${v['altcha-lib']} 'altcha-lib/v1' createChallenge) run by the ` +
      `altcha ${v.altcha} widget: converted with its createChallengeFromV1, counterMode 'string'. One try = ` +
      `crypto.subtle.digest('SHA-256', utf8(salt + decimal number)); tries = number+1.`,
  },
  {
    name: 'friendly-captcha',
    pkgs: ['friendly-challenge', 'friendly-pow'],
    hash: 'BLAKE2b-256',
    peer: 'friendly',
    params: () => ({ difficulty: FRIENDLY_DIFFICULTY }),
    verify: (samples) => verifyFriendly(samples),
    notes: (v) =>
      `friendly-challenge ${v['friendly-challenge']} worker.min.js (= the widget's inlined worker) with the ` +
      `friendly-pow ${v['friendly-pow']} AssemblyScript Wasm solver (solveBlake2b). One try = BLAKE2b-256 of a ` +
      `128-byte block (one compression), nonce = u32 LE at bytes 124..127, success if first u32 LE < threshold ` +
      `(difficulty byte ${FRIENDLY_DIFFICULTY}); tries = nonce+1. Widget always uses 4 workers.`,
  },
  {
    name: 'webcrypto-anubis-style',
    pkgs: [],
    hash: 'SHA-256 (WebCrypto)',
    peer: 'anubis',
    params: () => ({ n: WEBCRYPTO_N }),
    verify: (samples) => verifyWebcrypto(samples),
    notes: () =>
      `Baseline (peers/anubis-webcrypto-worker.js): the loop as Anubis's WebCrypto solver structures it: ` +
      `TextEncoder(challenge hex string + decimal nonce), await crypto.subtle.digest per nonce (~70 bytes, ` +
      `two compressions); ${WEBCRYPTO_N} nonces per task; tries = ${WEBCRYPTO_N}.`,
  },
  {
    name: 'webcrypto-1-block',
    pkgs: [],
    hash: 'SHA-256 (WebCrypto)',
    peer: 'webcrypto',
    params: () => ({ n: WEBCRYPTO_N }),
    verify: (samples) => verifyWebcrypto(samples),
    notes: () =>
      `Best-case baseline (peers/webcrypto-worker.js): await crypto.subtle.digest('SHA-256', buf) per ` +
      `nonce on a 44-byte buffer (36-byte challenge + u64 BE nonce), ${WEBCRYPTO_N} nonces per task; tries = ${WEBCRYPTO_N}.`,
  },
];

async function runInPage(page, peer, threads, seconds, params) {
  return page.evaluate((args) => window.peerBench.run(args), { peer, threads, seconds, params });
}

/**
 * Measure all peers on an open Playwright page. `baseUrl` serves peerRoots().
 * Options: seconds (window per measurement, default 3), only (array of names),
 * threads (override navigator.hardwareConcurrency), log (progress callback).
 */
export async function measurePeers(page, baseUrl, { seconds = 3, only, threads, log = () => {} } = {}) {
  await page.goto(`${baseUrl}/peers/index.html`);
  await page.waitForFunction(() => window.peerBenchReady === true);
  const hc = await page.evaluate(() => navigator.hardwareConcurrency);
  const nThreads = threads || hc || 1;

  const results = [];
  for (const def of PEERS) {
    if (only && !only.includes(def.name)) continue;
    const versions = {};
    for (const p of def.pkgs) versions[p] = await pkgVersion(p);

    // Enough altcha challenges for ~2 ms solves over both windows plus warm-ups.
    const count = Math.ceil((seconds * 1000) / 2) * (1 + nThreads) + 2 * (1 + nThreads);
    const params = await def.params(count);

    log(`${def.name}: 1 thread, ${seconds}s`);
    const single = await runInPage(page, def.peer, 1, seconds, params);
    log(`${def.name}: ${nThreads} threads, ${seconds}s`);
    const all = await runInPage(page, def.peer, nThreads, seconds, params);
    const verified = def.verify([...single.samples, ...all.samples], params);

    results.push({
      name: def.name,
      hash: def.hash,
      singleThreadHps: single.hps,
      allThreadsHps: all.hps,
      threads: nThreads,
      notes: def.notes(versions),
      versions,
      verified,
      single: {
        tries: single.tries,
        solves: single.solves,
        elapsedMs: single.elapsedMs,
        meanTriesPerSolve: single.tries / single.solves,
        meanSolveMs: single.elapsedMs / single.solves,
      },
      all: {
        tries: all.tries,
        solves: all.solves,
        elapsedMs: all.elapsedMs,
        perWorkerHps: all.perWorker.map((w) => w.hps),
        meanTriesPerSolve: all.tries / all.solves,
      },
    });
  }
  return results;
}

// --- widget payloads

const PAYLOADS = [
  {
    name: 'cap',
    files: [
      ['node_modules/@cap.js/widget/cap.min.js', 'widget bundle (custom element, CSS, worker source inlined as a Blob)'],
      ['node_modules/@cap.js/wasm/browser/cap_wasm_bg.wasm', 'solver Wasm, fetched by the widget at load (CAP_CUSTOM_WASM_URL or CDN)'],
    ],
    excluded:
      '@cap.js/wasm browser/cap_wasm.js (wasm-bindgen glue; the widget worker has its own), cap.compat.min.js, ' +
      'wasm-hashes.min.js (not referenced by cap.min.js), pako (only loaded when DecompressionStream is missing)',
  },
  {
    name: 'altcha',
    files: [
      ['node_modules/altcha/dist/main/altcha.min.js', 'widget bundle: Svelte custom element, CSS injected, SHA and PBKDF2 worker sources inlined as Blobs'],
    ],
    excluded:
      'dist/external/* (same widget without inlined CSS), i18n bundles, argon2id/scrypt worker plugins (hash-wasm; not needed for SHA-256)',
  },
  {
    name: 'friendly-captcha',
    files: [
      ['node_modules/friendly-challenge/widget.module.min.js', 'widget ES module: CSS, worker source and base64 Wasm solver all inlined'],
    ],
    excluded:
      'widget.min.js (55 KB nomodule fallback for old browsers; a modern browser loads only the module), ' +
      'widget.polyfilled.min.js, worker*.js (already inlined)',
  },
  {
    name: 'webcrypto-1-block',
    files: [['bench/browser/peers/webcrypto-worker.js', 'baseline worker only (no widget UI)']],
    excluded: '',
  },
];

export async function peerPayloads() {
  const out = [];
  for (const p of PAYLOADS) {
    const files = [];
    for (const [rel, why] of p.files) {
      const buf = await readFile(join(REPO, rel));
      const gz = gzipSync(buf, { level: zlibConstants.Z_BEST_COMPRESSION });
      files.push({ path: rel, raw: buf.length, gzip: gz.length, why });
    }
    out.push({
      name: p.name,
      files,
      raw: files.reduce((a, f) => a + f.raw, 0),
      gzip: files.reduce((a, f) => a + f.gzip, 0),
      excluded: p.excluded,
    });
  }
  return out;
}
