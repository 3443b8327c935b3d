#!/usr/bin/env node
// Standalone run: node bench/browser/run-peers.mjs [--seconds N] [--only a,b] [--threads N]
// Launches headless Chromium, serves bench/browser + node_modules on
// 127.0.0.1, measures the peer PoW solvers and their widget payloads, prints
// a table and one JSON line (prefixed "PEERS_JSON ").

import { loadavg } from 'node:os';
import { chromium } from 'playwright-core';
import { serve } from './server.mjs';
import { measurePeers, peerPayloads, peerRoots } from './peers.mjs';

function parseArgs(argv) {
  const opts = { seconds: 3 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--seconds') opts.seconds = Number(val());
    else if (a === '--only') opts.only = val().split(',');
    else if (a === '--threads') opts.threads = Number(val());
    else if (a === '--help' || a === '-h') {
      console.log('usage: node bench/browser/run-peers.mjs [--seconds N] [--only cap,altcha,...] [--threads N]');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return opts;
}

const mhs = (x) => (x / 1e6).toFixed(3);
const kb = (x) => (x / 1024).toFixed(1);
const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const payloads = await peerPayloads();
  const loadBefore = loadavg()[0];

  const server = await serve(peerRoots());
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  let results;
  let browserVersion;
  try {
    browserVersion = browser.version();
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') console.error(`[page ${m.type()}] ${m.text()}`);
    });
    results = await measurePeers(page, server.url, {
      seconds: opts.seconds,
      only: opts.only,
      threads: opts.threads,
      log: (s) => console.error(`.. ${s}`),
    });
    if (errors.length) console.error(`page errors:\n${errors.join('\n')}`);
  } finally {
    await browser.close();
    await server.close();
  }

  const loadAfter = loadavg()[0];
  console.log(
    `\nPeer PoW solvers, headless Chromium ${browserVersion}, ${opts.seconds}s per measurement, ` +
      `1-min load average ${loadBefore.toFixed(2)} before / ${loadAfter.toFixed(2)} after\n`,
  );
  console.log(
    `${pad('peer', 18)}${pad('hash', 22)}${lpad('1-thread MH/s', 14)}${lpad('threads', 9)}${lpad('all MH/s', 10)}` +
      `${lpad('solves(1t)', 11)}${lpad('ms/solve', 10)}${lpad('tries/solve', 13)}`,
  );
  for (const r of results) {
    console.log(
      `${pad(r.name, 18)}${pad(r.hash, 22)}${lpad(mhs(r.singleThreadHps), 14)}${lpad(r.threads, 9)}` +
        `${lpad(mhs(r.allThreadsHps), 10)}${lpad(r.single.solves, 11)}${lpad(r.single.meanSolveMs.toFixed(1), 10)}` +
        `${lpad(Math.round(r.single.meanTriesPerSolve), 13)}`,
    );
  }
  console.log('');
  for (const r of results) console.log(`- ${r.name}: ${r.notes}\n  check: ${r.verified}`);

  console.log('\nWidget payloads (raw / gzip -9):\n');
  for (const p of payloads) {
    console.log(`${pad(p.name, 18)}${lpad(p.raw, 9)} B ${lpad(kb(p.raw), 7)} KiB   ${lpad(p.gzip, 8)} B ${lpad(kb(p.gzip), 6)} KiB gz`);
    for (const f of p.files) console.log(`    ${pad(f.path, 58)}${lpad(f.raw, 8)} ${lpad(f.gzip, 8)}  ${f.why}`);
    if (p.excluded) console.log(`    not counted: ${p.excluded}`);
  }

  console.log(
    `\nPEERS_JSON ${JSON.stringify({ browser: browserVersion, seconds: opts.seconds, loadavg: [loadBefore, loadAfter], peers: results, payloads })}`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
