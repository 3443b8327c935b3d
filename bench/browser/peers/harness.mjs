// Page-side harness for the peer PoW solvers. Loaded by peers/index.html and
// driven from Node by ../peers.mjs through `window.peerBench.run(...)`.
//
// Each peer's *own* worker script, from its npm package, is started as a
// dedicated Web Worker and sent exactly the messages its widget sends:
//   cap       @cap.js/widget/src/worker.js (the source the widget bundle
//             inlines into a Blob worker) + the compiled @cap.js/wasm module,
//             posted as { salt, target, wasmModule } like WorkerPool.run().
//   altcha    altcha/dist/workers/sha.js (byte-identical to the worker source
//             inlined in altcha/dist/main/altcha.js), posted
//             { type: 'work', challenge, counterMode, counterStart, counterStep,
//             timeout } like solveChallengeWorkers().
//   friendly  friendly-challenge/worker.min.js (byte-identical to the
//             workerString inlined in the widget), posted { type: 'solver' }
//             then { type: 'start', puzzleSolverInput, threshold, ... } like
//             WorkerGroup.
//   webcrypto our own baseline, ./webcrypto-worker.js (one block, preallocated buffer).
//   anubis    ./anubis-webcrypto-worker.js: the loop structured as Anubis's WebCrypto solver.
// The workers are loaded from URLs rather than Blob URLs; the code run is
// the same.

const NM = '/node_modules';

function hex(u8) {
  let s = '';
  for (let i = 0; i < u8.length; i++) s += u8[i].toString(16).padStart(2, '0');
  return s;
}

function randomBytes(n) {
  return crypto.getRandomValues(new Uint8Array(n));
}

function randomHex(chars) {
  return hex(randomBytes(Math.ceil(chars / 2))).slice(0, chars);
}

// Resolve with the first message whose data satisfies `pred`; reject on a
// worker error event or after `timeoutMs` (so a stuck worker cannot hang the run).
function nextMessage(worker, pred, timeoutMs = 60000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`worker did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (ev) => {
      if (!pred(ev.data)) return;
      cleanup();
      resolve(ev.data);
    };
    const onError = (ev) => {
      cleanup();
      reject(new Error(`worker error: ${ev.message || ev.type}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      worker.removeEventListener('message', onMessage);
      worker.removeEventListener('error', onError);
    };
    worker.addEventListener('message', onMessage);
    worker.addEventListener('error', onError);
  });
}

// Same conversion the altcha 3.x widget applies to a v1 challenge
// (createChallengeFromV1 in altcha/dist/main/altcha.js).
function altchaChallengeFromV1(challenge) {
  const [, queryParams] = challenge.salt.split('?');
  const data = {};
  if (queryParams) {
    try {
      Object.assign(data, Object.fromEntries(new URLSearchParams(queryParams).entries()));
    } catch {
      /* ignore, like the widget */
    }
  }
  return {
    codeChallenge: challenge.codeChallenge,
    parameters: {
      algorithm: challenge.algorithm,
      cost: 1,
      data,
      expiresAt: data?.expires ? parseInt(data.expires, 10) : undefined,
      keyLength: challenge.algorithm === 'SHA-512' ? 64 : challenge.algorithm === 'SHA-384' ? 48 : 32,
      nonce: hex(new TextEncoder().encode(challenge.salt)),
      keyPrefix: challenge.challenge,
      salt: '',
    },
    signature: challenge.signature,
  };
}

// friendly-challenge: difficultyToThreshold() from the widget.
function friendlyThreshold(difficulty) {
  const v = Math.max(0, Math.min(255, difficulty));
  return Math.pow(2, (255.999 - v) / 8.0) >>> 0;
}

const PEERS = {
  cap: {
    workerUrl: `${NM}/@cap.js/widget/src/worker.js`,
    async setup(ctx) {
      // The widget does fetch(wasmUrl) -> arrayBuffer() -> WebAssembly.compile().
      const r = await fetch(`${NM}/@cap.js/wasm/browser/cap_wasm_bg.wasm`);
      if (!r.ok) throw new Error(`cap wasm fetch failed: ${r.status}`);
      ctx.wasmModule = await WebAssembly.compile(await r.arrayBuffer());
    },
    makeTask(ctx) {
      return { salt: randomHex(ctx.params.saltHexChars), target: randomHex(ctx.params.targetHexChars) };
    },
    async solve(worker, task, ctx) {
      const reply = nextMessage(worker, (d) => d && typeof d === 'object' && 'found' in d);
      worker.postMessage({ salt: task.salt, target: task.target, wasmModule: ctx.wasmModule });
      const d = await reply;
      if (!d.found) throw new Error(`cap worker failed: ${d.error}`);
      // Sequential search from nonce 0: a solution n means n+1 SHA-256 evaluations.
      return { tries: d.nonce + 1, sample: { salt: task.salt, target: task.target, nonce: d.nonce } };
    },
  },

  altcha: {
    workerUrl: `${NM}/altcha/dist/workers/sha.js`,
    makeTask(ctx) {
      const item = ctx.params.challenges[ctx.next++ % ctx.params.challenges.length];
      return item;
    },
    async solve(worker, task, ctx) {
      const v1 = ctx.params.version === 1;
      const challenge = v1 ? altchaChallengeFromV1(task.challenge) : task.challenge;
      const reply = nextMessage(worker, () => true);
      worker.postMessage({
        challenge,
        counterMode: v1 ? 'string' : 'uint32',
        counterStart: 0,
        counterStep: 1,
        timeout: 90000,
        type: 'work',
      });
      const d = await reply;
      if (!d || d.error) throw new Error(`altcha worker failed: ${d?.error || 'no solution'}`);
      // One worker, counterStart 0, counterStep 1: counter c means c+1 key
      // derivations; with cost = 1 each derivation is one SHA-256.
      const cost = Math.max(1, challenge.parameters.cost);
      return {
        tries: (d.counter + 1) * cost,
        sample: { id: task.id, counter: d.counter, derivedKey: d.derivedKey },
      };
    },
  },

  friendly: {
    workerUrl: `${NM}/friendly-challenge/worker.min.js`,
    async initWorker(worker) {
      const ready = nextMessage(worker, (d) => d && d.type === 'ready');
      worker.postMessage({ type: 'solver', forceJS: false });
      const d = await ready;
      if (d.solver !== 2) throw new Error(`friendly worker fell back to the JS solver (solver=${d.solver})`);
    },
    makeTask(ctx) {
      // A 32-byte puzzle header (random), expanded the way getPuzzleSolverInputs()
      // does: 128-byte input, byte 120 = puzzle index.
      const input = new Uint8Array(128);
      input.set(randomBytes(32));
      input[120] = ctx.next++ & 0xff;
      return { input, threshold: friendlyThreshold(ctx.params.difficulty), puzzleIndex: input[120] };
    },
    async solve(worker, task, ctx) {
      ctx.puzzleNumber = (ctx.puzzleNumber || 0) + 1;
      const reply = nextMessage(worker, (d) => d && (d.type === 'done' || d.type === 'error'));
      worker.postMessage({
        type: 'start',
        puzzleSolverInput: task.input,
        threshold: task.threshold,
        puzzleIndex: task.puzzleIndex,
        puzzleNumber: ctx.puzzleNumber,
      });
      const d = await reply;
      if (d.type !== 'done') throw new Error(`friendly worker failed: ${d.message}`);
      const sol = d.solution; // last 8 bytes of the 128-byte input
      const outer = sol[3]; // byte 123: outer loop, 0 unless 2^32-1 nonces failed
      const nonce = new DataView(sol.buffer, sol.byteOffset, 8).getUint32(4, true);
      // Inner search runs nonce = 0,1,... at bytes 124..127: nonce n means n+1
      // BLAKE2b evaluations (the widget's own `h` counter reports n).
      const tries = outer * 4294967295 + nonce + 1;
      const full = task.input.slice();
      full.set(sol, 120);
      return {
        tries,
        sample: { input: hex(full), threshold: task.threshold, nonce, outer, h: d.h },
      };
    },
  },

  anubis: {
    workerUrl: './anubis-webcrypto-worker.js',
    makeTask(ctx) {
      return { challenge: hex(randomBytes(32)), n: ctx.params.n };
    },
    async solve(worker, task) {
      const reply = nextMessage(worker, (d) => d && 'done' in d);
      worker.postMessage({ challenge: task.challenge, n: task.n });
      const d = await reply;
      if (!d.done) throw new Error(`anubis-style worker failed: ${d.error}`);
      return { tries: d.tries, sample: { n: task.n, tries: d.tries, hits: d.hits } };
    },
  },

  webcrypto: {
    workerUrl: './webcrypto-worker.js',
    makeTask(ctx) {
      return { prefix: randomBytes(36), n: ctx.params.n };
    },
    async solve(worker, task) {
      const reply = nextMessage(worker, (d) => d && 'done' in d);
      worker.postMessage({ prefix: task.prefix, n: task.n });
      const d = await reply;
      if (!d.done) throw new Error(`webcrypto worker failed: ${d.error}`);
      return { tries: d.tries, sample: { n: task.n, tries: d.tries, hits: d.hits } };
    },
  },
};

/**
 * Run one peer with `threads` workers for `seconds` of wall time.
 * Each worker solves independent tasks back to back; only tasks completed
 * inside the window count, and the window ends at the last completion.
 */
async function run({ peer, threads = 1, seconds = 3, params = {}, samplesPerWorker = 4 }) {
  const def = PEERS[peer];
  if (!def) throw new Error(`unknown peer ${peer}`);
  const ctx = { params, next: 0 };
  if (def.setup) await def.setup(ctx);

  const workers = [];
  try {
    for (let i = 0; i < threads; i++) workers.push(new Worker(def.workerUrl));
    if (def.initWorker) await Promise.all(workers.map((w) => def.initWorker(w, ctx)));

    // Warm-up: one task per worker (JIT / Wasm tier-up), not counted.
    await Promise.all(workers.map((w) => def.solve(w, def.makeTask(ctx), ctx)));

    const t0 = performance.now();
    const deadline = t0 + seconds * 1000;
    const perWorker = await Promise.all(
      workers.map(async (w) => {
        let tries = 0;
        let solves = 0;
        let last = t0;
        const samples = [];
        while (performance.now() < deadline) {
          const r = await def.solve(w, def.makeTask(ctx), ctx);
          tries += r.tries;
          solves++;
          last = performance.now();
          if (samples.length < samplesPerWorker) samples.push(r.sample);
        }
        return { tries, solves, elapsedMs: last - t0, samples };
      }),
    );

    const elapsedMs = Math.max(...perWorker.map((p) => p.elapsedMs));
    const tries = perWorker.reduce((a, p) => a + p.tries, 0);
    const solves = perWorker.reduce((a, p) => a + p.solves, 0);
    return {
      peer,
      threads,
      tries,
      solves,
      elapsedMs,
      hps: tries / (elapsedMs / 1000),
      perWorker: perWorker.map((p) => ({
        tries: p.tries,
        solves: p.solves,
        elapsedMs: p.elapsedMs,
        hps: p.tries / (p.elapsedMs / 1000),
      })),
      samples: perWorker.flatMap((p) => p.samples),
    };
  } finally {
    for (const w of workers) w.terminate();
  }
}

window.peerBench = {
  run,
  hardwareConcurrency: navigator.hardwareConcurrency,
  peers: Object.keys(PEERS),
};
window.peerBenchReady = true;
