// The pure-JavaScript solver, for browsers where WebAssembly is unavailable (iOS Lockdown
// Mode, an enterprise policy, a Content-Security-Policy without 'wasm-unsafe-eval').
//
// The same puzzle and the same search as the Rust solver (src/solver.rs, src/pow/kernel.rs):
//
//   seed  = SHA-256(token ‖ SHA-256(signals))
//   block = seed (W0..W7) ‖ be32(index) (W8) ‖ nonce_hi (W9) ‖ nonce_lo (W10) ‖ padding (W11..W15)
//   a nonce solves sub-puzzle `index` when SHA-256(block) has `difficulty` leading zero bits
//
// searched sequentially from the start nonce, so it finds exactly the nonce (and reports
// exactly the tries) the Rust solver finds. Per try only rounds 10–63 run: rounds 0–9 depend
// on W0..W9 alone (the midstate, computed once per sub-puzzle and high word), the schedule
// words that do not depend on W10 are precomputed, and only H0 is computed for
// difficulty ≤ 32 (a try passes iff H0 < 2^(32 − difficulty)). Nothing is allocated per try.
//
// The same stepped interface as the Wasm glue, so the Web Worker drives both alike:
//
//   const s = new Solver(tokenBytes, signalsBytes);   // check s.valid()
//   s.begin(i, 0, 0);
//   while (!s.solve_step(budget)) postMessage({ tries: s.tries() });
//   s.nonce_hi(), s.nonce_lo()
//
// An ES module with no dependencies: it runs in a module Worker, on the page, and in Node.

/** SHA-256 round constants (FIPS 180-4, 4.2.2). */
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
/** SHA-256 initial hash value (FIPS 180-4, 5.3.3). */
const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
/** Bytes hashed per try: seed (32), sub-puzzle index (4), nonce (8). */
const PREIMAGE_BITS = 44 * 8;
/** Token layout (src/protocol/challenge.rs): version, kid 4, id 16, issued 8, expires 8, difficulty, k, risk, binding 16, route length. */
const TOKEN_VERSION = 1;
const FIXED_LEN = 57;
const TAG_LEN = 32;
/** Top-up layout (src/protocol/topup.rs): kind 'T', kid 4, id 16, first id 16, issued 8, expires 8, difficulty, k, binding 16, route length. */
const TOPUP_KIND = 0x54;
const TOPUP_FIXED_LEN = 72;

const s0 = (x) => ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
const s1 = (x) => ((x >>> 17) | (x << 15)) ^ ((x >>> 19) | (x << 13)) ^ (x >>> 10);

/** The SHA-256 compression of `w[0..16]` (the message words) into `state`; `w` is a 64-word scratch. */
function compress(state, w) {
  for (let i = 16; i < 64; i++) w[i] = (s1(w[i - 2]) + w[i - 7] + s0(w[i - 15]) + w[i - 16]) | 0;
  let a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5], g = state[6], h = state[7];
  for (let i = 0; i < 64; i++) {
    const t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + K[i] + w[i]) | 0;
    const t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) | (c & (a | b)))) | 0;
    h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
  }
  state[0] = (state[0] + a) | 0; state[1] = (state[1] + b) | 0; state[2] = (state[2] + c) | 0; state[3] = (state[3] + d) | 0;
  state[4] = (state[4] + e) | 0; state[5] = (state[5] + f) | 0; state[6] = (state[6] + g) | 0; state[7] = (state[7] + h) | 0;
}

/** SHA-256 of `bytes` (any length): for the seed, a few blocks per challenge. */
export function sha256(bytes) {
  const n = bytes.length;
  const blocks = ((n + 9 + 63) >>> 6);
  const padded = new Uint8Array(blocks * 64);
  padded.set(bytes);
  padded[n] = 0x80;
  const view = new DataView(padded.buffer);
  const bits = n * 8;
  view.setUint32(padded.length - 8, Math.floor(bits / 2 ** 32));
  view.setUint32(padded.length - 4, bits >>> 0);
  const state = Int32Array.from(IV);
  const w = new Int32Array(64);
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getInt32(off + 4 * i);
    compress(state, w);
  }
  const out = new Uint8Array(32);
  const ov = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) ov.setInt32(4 * i, state[i]);
  return out;
}

/** The per-challenge seed: SHA-256(token ‖ SHA-256(signals)). */
export function seed(token, signals) {
  const t = new Uint8Array(token.length + 32);
  t.set(token);
  t.set(sha256(signals || new Uint8Array(0)), token.length);
  return sha256(t);
}

/** The digest state (8 words, Int32Array) of SHA-256(seed ‖ be32(index) ‖ be32(hi) ‖ be32(lo)). */
export function digest(seedBytes, index, hi, lo) {
  const w = new Int32Array(64);
  const v = new DataView(seedBytes.buffer, seedBytes.byteOffset, 32);
  for (let i = 0; i < 8; i++) w[i] = v.getInt32(4 * i);
  w[8] = index | 0;
  w[9] = hi | 0;
  w[10] = lo | 0;
  w[11] = 0x80000000 | 0;
  w[15] = PREIMAGE_BITS;
  const state = Int32Array.from(IV);
  compress(state, w);
  return state;
}

/** Leading zero bits of a digest given as state words. */
export function leadingZeroBits(state) {
  let bits = 0;
  for (let i = 0; i < 8; i++) {
    bits += Math.clz32(state[i]);
    if (state[i] !== 0) break;
  }
  return bits;
}

/** A solver for one challenge, with the interface of the Wasm `Solver` (src/solver.rs). */
export class Solver {
  /** Reads the token (raw bytes) and computes the seed with the client signals. */
  constructor(token, signals) {
    token = token instanceof Uint8Array ? token : new Uint8Array(token);
    signals = signals instanceof Uint8Array ? signals : new Uint8Array(signals || []);
    const ok = token.length >= FIXED_LEN + 1 + TAG_LEN && token[0] === TOKEN_VERSION && token[56] > 0 && token.length === FIXED_LEN + token[56] + TAG_LEN;
    const topup = !ok && token.length >= TOPUP_FIXED_LEN + 1 + TAG_LEN && token[0] === TOPUP_KIND && token[71] > 0
      && token.length === TOPUP_FIXED_LEN + token[71] + TAG_LEN;
    this._difficulty = ok ? token[37] : topup ? token[53] : 0;
    this._k = ok ? token[38] : topup ? token[54] : 0;
    this._seed = seed(token, signals);
    const v = new DataView(this._seed.buffer, this._seed.byteOffset, 32);
    /** W0..W15 of the block (W10 = 0), then W16, W18, W20, W22 (the words without W10). */
    this._w = new Int32Array(23);
    for (let i = 0; i < 8; i++) this._w[i] = v.getInt32(4 * i);
    /** Constants of the schedule words that involve W10 (see prepare). */
    this._c = new Int32Array(32);
    /** K[i] + W[i] for the rounds whose W is constant. */
    this._kw = new Int32Array(23);
    /** The state after rounds 0–9. */
    this._mid = new Int32Array(8);
    this._t1 = 0; // round 10's T1 without W10
    this._t2 = 0; // round 10's T2
    /** Scratch for the full digest (difficulty > 32, the last nonces under a high word). */
    this._state = new Int32Array(8);
    this._full = new Int32Array(64);
    /** The schedule window of the hot loop (W16..W63 at their own indices). */
    this._window = new Int32Array(64);
    this._index = 0;
    this._hi = 0; // the nonce's high word (unsigned)
    this._lo = 0; // the next nonce's low word (unsigned)
    this._tries = 0;
    this._found = false;
    this._exhausted = false;
    this._end = false; // the whole 2^64 nonce space has been tried
    this._foundHi = 0;
    this._foundLo = 0;
    this._mask = 0;
  }

  valid() { return this._k > 0; }
  k() { return this._k; }
  difficulty() { return this._difficulty; }
  /** Never: this is the portable build (for symmetry with the Wasm glue). */
  static simd() { return false; }

  /** Starts sub-puzzle `index` at nonce `hi << 32 | lo`. */
  begin(index, hi, lo) {
    this._index = index >>> 0;
    this._hi = hi >>> 0;
    this._lo = lo >>> 0;
    this._tries = 0;
    this._found = false;
    this._exhausted = false;
    this._end = false;
    const d = this._difficulty;
    // H0 meets min(difficulty, 32) zero bits iff H0 & mask is 0 (the top min(d, 32) bits)
    this._mask = d === 0 ? 0 : d >= 32 ? -1 : (-1 << (32 - d)) | 0;
    this._prepare();
  }

  /** Precomputes everything that does not depend on the low nonce word (src/pow/kernel.rs `Prepared`). */
  _prepare() {
    const w = this._w, c = this._c, kw = this._kw;
    w[8] = this._index | 0;
    w[9] = this._hi | 0;
    w[10] = 0;
    w[11] = 0x80000000 | 0;
    w[12] = 0; w[13] = 0; w[14] = 0;
    w[15] = PREIMAGE_BITS;
    w[16] = (s1(w[14]) + w[9] + s0(w[1]) + w[0]) | 0;
    w[18] = (s1(w[16]) + w[11] + s0(w[3]) + w[2]) | 0;
    w[20] = (s1(w[18]) + w[13] + s0(w[5]) + w[4]) | 0;
    w[22] = (s1(w[20]) + w[15] + s0(w[7]) + w[6]) | 0;
    // W17 = c17 + lo, W19 = σ1(W17) + c19, W21 = σ1(W19) + c21, W23 = σ1(W21) + c23
    c[17] = (s1(w[15]) + s0(w[2]) + w[1]) | 0;
    c[19] = (w[12] + s0(w[4]) + w[3]) | 0;
    c[21] = (w[14] + s0(w[6]) + w[5]) | 0;
    c[23] = (w[16] + s0(w[8]) + w[7]) | 0;
    // W24 = W17 + c24; W25 = σ1(W23) + σ0(lo) + c25; W26 = σ1(W24) + W19 + lo + c26
    c[24] = (s1(w[22]) + s0(w[9]) + w[8]) | 0;
    c[25] = (w[18] + w[9]) | 0;
    c[26] = s0(w[11]);
    // W27 = σ1(W25) + c27; W28 = σ1(W26) + W21 + c28; W29 = σ1(W27) + c29
    c[27] = (w[20] + s0(w[12]) + w[11]) | 0;
    c[28] = (s0(w[13]) + w[12]) | 0;
    c[29] = (w[22] + s0(w[14]) + w[13]) | 0;
    // W30 = σ1(W28) + W23 + c30; W31 = σ1(W29) + W24 + c31
    c[30] = (s0(w[15]) + w[14]) | 0;
    c[31] = (s0(w[16]) + w[15]) | 0;
    for (const i of [11, 12, 13, 14, 15, 16, 18, 20, 22]) kw[i] = (K[i] + w[i]) | 0;

    let a = IV[0], b = IV[1], cc = IV[2], d = IV[3], e = IV[4], f = IV[5], g = IV[6], h = IV[7];
    for (let i = 0; i < 10; i++) {
      const t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + K[i] + w[i]) | 0;
      const t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) | (cc & (a | b)))) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0; d = cc; cc = b; b = a; a = (t1 + t2) | 0;
    }
    const m = this._mid;
    m[0] = a; m[1] = b; m[2] = cc; m[3] = d; m[4] = e; m[5] = f; m[6] = g; m[7] = h;
    this._t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + K[10]) | 0;
    this._t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) | (cc & (a | b)))) | 0;
  }

  /** Leading zero bits of the full digest of nonce (hi, lo) for the current sub-puzzle. */
  _zeroBits(lo) {
    const w = this._full, st = this._state;
    for (let i = 0; i < 16; i++) w[i] = this._w[i];
    w[10] = lo | 0;
    st.set(IV);
    compress(st, w);
    return leadingZeroBits(st);
  }

  /**
   * Tries about `budget` nonces from the next one; true once a nonce is found (then see
   * nonce_hi / nonce_lo). False when the budget ran out, or the nonce space did (`exhausted`).
   */
  solve_step(budget) {
    if (this._found) return true;
    if (this._exhausted || this._k === 0) return false;
    const d = this._difficulty;
    if (d === 0) {
      this._tries += 1;
      this._foundHi = this._hi;
      this._foundLo = this._lo;
      this._found = true;
      return true;
    }
    let left = Math.max(1, budget >>> 0);
    while (left > 0) {
      // at most to the end of this high word, so the low word never wraps inside the scan
      const room = 2 ** 32 - this._lo;
      const n = left < room ? left : room;
      const hit = this._scan(this._lo, n);
      if (hit >= 0) {
        const used = hit - this._lo + 1;
        this._tries += used;
        this._foundHi = this._hi;
        this._foundLo = hit;
        this._found = true;
        this._advance(used);
        return true;
      }
      this._tries += n;
      left -= n;
      if (this._advance(n)) {
        this._exhausted = true;
        return false;
      }
    }
    return false;
  }

  /** Moves the next nonce `n` forward (n ≤ the room left in this high word); true past 2^64 − 1. */
  _advance(n) {
    const lo = this._lo + n;
    if (lo < 2 ** 32) {
      this._lo = lo;
      return false;
    }
    if (this._hi === 0xffffffff) return true;
    this._hi = this._hi + 1;
    this._lo = 0;
    this._prepare();
    return false;
  }

  /**
   * The first low word in [from, from + n) whose nonce solves the current sub-puzzle, or −1.
   * The hot loop: rounds 10–63 and the W10-dependent schedule, on locals.
   */
  _scan(from, n) {
    const m = this._mid, kw = this._kw, c = this._c, w = this._w;
    const m0 = m[0], m1 = m[1], m2 = m[2], m3 = m[3], m4 = m[4], m5 = m[5], m6 = m[6];
    const t110 = this._t1, t210 = this._t2, m01 = m0 ^ m1;
    const kw11 = kw[11], kw12 = kw[12], kw13 = kw[13], kw14 = kw[14], kw15 = kw[15], kw16 = kw[16], kw18 = kw[18], kw20 = kw[20], kw22 = kw[22];
    const c17 = c[17], c19 = c[19], c21 = c[21], c23 = c[23], c24 = c[24], c25 = c[25], c26 = c[26], c27 = c[27], c28 = c[28], c29 = c[29], c30 = c[30], c31 = c[31];
    const w16 = w[16], w18 = w[18], w20 = w[20], w22 = w[22];
    const mask = this._mask;
    const k17 = K[17], k19 = K[19], k21 = K[21], k23 = K[23], k24 = K[24], k25 = K[25], k26 = K[26], k27 = K[27], k28 = K[28], k29 = K[29], k30 = K[30], k31 = K[31];
    const full = this._difficulty > 32;
    const iv0 = IV[0];
    const W = this._window;
    const end = from + n;
    for (let nonce = from; nonce < end; nonce++) {
      const lo = nonce | 0;
      // round 10
      let t1 = (t110 + lo) | 0;
      let a = (t1 + t210) | 0, b = m0, cc = m1, d = m2, e = (m3 + t1) | 0, f = m4, g = m5, h = m6;
      let t2 = 0, x = 0, y = m01; // Maj(a, b, c) = b ^ ((a ^ b) & (b ^ c)), and b ^ c is the last round's a ^ b
      // rounds 11–31 with the precomputed schedule; ROUND(kw) inlined by hand
      t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + kw11) | 0;
      x = a ^ b; t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + (b ^ (x & y))) | 0; y = x;
      h = g; g = f; f = e; e = (d + t1) | 0; d = cc; cc = b; b = a; a = (t1 + t2) | 0;
      t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + kw12) | 0;
      x = a ^ b; t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + (b ^ (x & y))) | 0; y = x;
      h = g; g = f; f = e; e = (d + t1) | 0; d = cc; cc = b; b = a; a = (t1 + t2) | 0;
      t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + kw13) | 0;
      x = a ^ b; t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + (b ^ (x & y))) | 0; y = x;
      h = g; g = f; f = e; e = (d + t1) | 0; d = cc; cc = b; b = a; a = (t1 + t2) | 0;
      t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + kw14) | 0;
      x = a ^ b; t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + (b ^ (x & y))) | 0; y = x;
      h = g; g = f; f = e; e = (d + t1) | 0; d = cc; cc = b; b = a; a = (t1 + t2) | 0;
      t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + kw15) | 0;
      x = a ^ b; t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + (b ^ (x & y))) | 0; y = x;
      h = g; g = f; f = e; e = (d + t1) | 0; d = cc; cc = b; b = a; a = (t1 + t2) | 0;
      t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + kw16) | 0;
      x = a ^ b; t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + (b ^ (x & y))) | 0; y = x;
      h = g; g = f; f = e; e = (d + t1) | 0; d = cc; cc = b; b = a; a = (t1 + t2) | 0;
      const w17 = (c17 + lo) | 0;
      t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + k17 + w17) | 0;
      x = a ^ b; t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + (b ^ (x & y))) | 0; y = x;
      h = g; g = f; f = e; e = (d + t1) | 0; d = cc; cc = b; b = a; a = (t1 + t2) | 0;
      t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + kw18) | 0;
      x = a ^ b; t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + (b ^ (x & y))) | 0; y = x;
      h = g; g = f; f = e; e = (d + t1) | 0; d = cc; cc = b; b = a; a = (t1 + t2) | 0;
      const w19 = (s1(w17) + c19) | 0;
      t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + k19 + w19) | 0;
      x = a ^ b; t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + (b ^ (x & y))) | 0; y = x;
      h = g; g = f; f = e; e = (d + t1) | 0; d = cc; cc = b; b = a; a = (t1 + t2) | 0;
      t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + kw20) | 0;
      x = a ^ b; t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + (b ^ (x & y))) | 0; y = x;
      h = g; g = f; f = e; e = (d + t1) | 0; d = cc; cc = b; b = a; a = (t1 + t2) | 0;
      const w21 = (s1(w19) + c21) | 0;
      t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + k21 + w21) | 0;
      x = a ^ b; t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + (b ^ (x & y))) | 0; y = x;
      h = g; g = f; f = e; e = (d + t1) | 0; d = cc; cc = b; b = a; a = (t1 + t2) | 0;
      t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + kw22) | 0;
      x = a ^ b; t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + (b ^ (x & y))) | 0; y = x;
      h = g; g = f; f = e; e = (d + t1) | 0; d = cc; cc = b; b = a; a = (t1 + t2) | 0;
      const w23 = (s1(w21) + c23) | 0;
      t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + k23 + w23) | 0;
      x = a ^ b; t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + (b ^ (x & y))) | 0; y = x;
      h = g; g = f; f = e; e = (d + t1) | 0; d = cc; cc = b; b = a; a = (t1 + t2) | 0;
      const w24 = (w17 + c24) | 0;
      t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + k24 + w24) | 0;
      x = a ^ b; t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + (b ^ (x & y))) | 0; y = x;
      h = g; g = f; f = e; e = (d + t1) | 0; d = cc; cc = b; b = a; a = (t1 + t2) | 0;
      const w25 = (s1(w23) + s0(lo) + c25) | 0;
      t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + k25 + w25) | 0;
      x = a ^ b; t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + (b ^ (x & y))) | 0; y = x;
      h = g; g = f; f = e; e = (d + t1) | 0; d = cc; cc = b; b = a; a = (t1 + t2) | 0;
      const w26 = (s1(w24) + w19 + lo + c26) | 0;
      t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + k26 + w26) | 0;
      x = a ^ b; t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + (b ^ (x & y))) | 0; y = x;
      h = g; g = f; f = e; e = (d + t1) | 0; d = cc; cc = b; b = a; a = (t1 + t2) | 0;
      const w27 = (s1(w25) + c27) | 0;
      t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + k27 + w27) | 0;
      x = a ^ b; t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + (b ^ (x & y))) | 0; y = x;
      h = g; g = f; f = e; e = (d + t1) | 0; d = cc; cc = b; b = a; a = (t1 + t2) | 0;
      const w28 = (s1(w26) + w21 + c28) | 0;
      t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + k28 + w28) | 0;
      x = a ^ b; t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + (b ^ (x & y))) | 0; y = x;
      h = g; g = f; f = e; e = (d + t1) | 0; d = cc; cc = b; b = a; a = (t1 + t2) | 0;
      const w29 = (s1(w27) + c29) | 0;
      t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + k29 + w29) | 0;
      x = a ^ b; t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + (b ^ (x & y))) | 0; y = x;
      h = g; g = f; f = e; e = (d + t1) | 0; d = cc; cc = b; b = a; a = (t1 + t2) | 0;
      const w30 = (s1(w28) + w23 + c30) | 0;
      t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + k30 + w30) | 0;
      x = a ^ b; t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + (b ^ (x & y))) | 0; y = x;
      h = g; g = f; f = e; e = (d + t1) | 0; d = cc; cc = b; b = a; a = (t1 + t2) | 0;
      const w31 = (s1(w29) + w24 + c31) | 0;
      t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + k31 + w31) | 0;
      x = a ^ b; t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + (b ^ (x & y))) | 0; y = x;
      h = g; g = f; f = e; e = (d + t1) | 0; d = cc; cc = b; b = a; a = (t1 + t2) | 0;
      // rounds 32–63: the general schedule over W16..W31 (W[i] at index i; 32..63 written here)
      W[16] = w16; W[17] = w17; W[18] = w18; W[19] = w19; W[20] = w20; W[21] = w21; W[22] = w22; W[23] = w23;
      W[24] = w24; W[25] = w25; W[26] = w26; W[27] = w27; W[28] = w28; W[29] = w29; W[30] = w30; W[31] = w31;
      for (let i = 32; i < 64; i++) {
        const p = W[i - 2], q = W[i - 15];
        const wi = (((p >>> 17) | (p << 15)) ^ ((p >>> 19) | (p << 13)) ^ (p >>> 10)) + W[i - 7] + (((q >>> 7) | (q << 25)) ^ ((q >>> 18) | (q << 14)) ^ (q >>> 3)) + W[i - 16] | 0;
        W[i] = wi;
        t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + K[i] + wi) | 0;
        x = a ^ b; t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + (b ^ (x & y))) | 0; y = x;
        h = g; g = f; f = e; e = (d + t1) | 0; d = cc; cc = b; b = a; a = (t1 + t2) | 0;
      }
      if (((iv0 + a) & mask) === 0) {
        if (!full) return nonce;
        // difficulty > 32: H0 = 0 is only the filter; confirm with the full digest
        if (this._zeroBits(lo) >= this._difficulty) return nonce;
      }
    }
    return -1;
  }

  /** Nonces tried on the current sub-puzzle. */
  tries() { return this._tries; }
  /** The high 32 bits of the found nonce (0 before one is found). */
  nonce_hi() { return this._found ? this._foundHi : 0; }
  /** The low 32 bits of the found nonce. */
  nonce_lo() { return this._found ? this._foundLo : 0; }
  /** True if the nonce space ran out (2^64 tries; not reachable in practice). */
  exhausted() { return this._exhausted; }
  /** The seed (32 bytes), for tests. */
  seed() { return this._seed; }
  free() {}
}

/** Nothing to load (the Wasm glue's default export instantiates its module; this one has none). */
export default async function init() {}
