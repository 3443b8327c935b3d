// A second implementation of the wire protocol, written from docs/protocol.md with Node's
// crypto: the tests use it to mint tampered, expired or foreign-key tokens and to check the
// verdict header the way an origin team would.
import crypto from 'node:crypto';

export const b64 = (buf) => Buffer.from(buf).toString('base64url');
export const unb64 = (s) => Buffer.from(s, 'base64url');

export function kid(secret) {
  return crypto.createHmac('sha256', secret).update('gate key id v1').digest().subarray(0, 4);
}

/** Splits token bytes into fields (layout in docs/protocol.md). */
export function parseToken(bytes) {
  const b = Buffer.from(bytes);
  const routeLen = b[56];
  return {
    version: b[0], kid: b.subarray(1, 5), id: b.subarray(5, 21),
    issuedAt: Number(b.readBigUInt64BE(21)), expiresAt: Number(b.readBigUInt64BE(29)),
    difficulty: b[37], k: b[38], risk: b[39], binding: b.subarray(40, 56),
    route: b.subarray(57, 57 + routeLen).toString('utf8'),
    signature: b.subarray(57 + routeLen),
  };
}

/** Builds and signs a token. */
export function mintToken(t, secret) {
  const route = Buffer.from(t.route, 'utf8');
  const head = Buffer.alloc(57);
  head[0] = t.version ?? 1;
  kid(secret).copy(head, 1);
  Buffer.from(t.id).copy(head, 5);
  head.writeBigUInt64BE(BigInt(t.issuedAt), 21);
  head.writeBigUInt64BE(BigInt(t.expiresAt), 29);
  head[37] = t.difficulty; head[38] = t.k; head[39] = t.risk ?? 0;
  Buffer.from(t.binding).copy(head, 40);
  head[56] = route.length;
  const body = Buffer.concat([head, route]);
  return Buffer.concat([body, crypto.createHmac('sha256', secret).update(body).digest()]);
}

export function seed(token, signals = '') {
  const sd = crypto.createHash('sha256').update(signals).digest();
  return crypto.createHash('sha256').update(token).update(sd).digest();
}

export function zeroBits(digest) {
  let bits = 0;
  for (const byte of digest) {
    if (byte === 0) { bits += 8; continue; }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

function digest(sd, i, nonce) {
  const pre = Buffer.alloc(44);
  sd.copy(pre, 0);
  pre.writeUInt32BE(i, 32);
  pre.writeBigUInt64BE(BigInt(nonce), 36);
  return crypto.createHash('sha256').update(pre).digest();
}

/** Brute-force solver in JS (only for small difficulties in tests). */
export function solve(token, signals = '') {
  const t = parseToken(token);
  const sd = seed(token, signals);
  const nonces = [];
  for (let i = 0; i < t.k; i++) {
    let n = 0;
    while (zeroBits(digest(sd, i, n)) < t.difficulty) n++;
    nonces.push(n);
  }
  return nonces;
}

/** A nonce that does NOT meet the difficulty for sub-puzzle i. */
export function lazyNonce(token, i, signals = '') {
  const t = parseToken(token);
  const sd = seed(token, signals);
  let n = 0;
  while (zeroBits(digest(sd, i, n)) >= t.difficulty) n++;
  return n;
}

export function solution(token, nonces, signals = '') {
  const nb = Buffer.alloc(8 * nonces.length);
  nonces.forEach((n, i) => nb.writeBigUInt64BE(BigInt(n), 8 * i));
  return `${b64(token)}.${b64(nb)}${signals ? `.${b64(Buffer.from(signals))}` : ''}`;
}

/** The origin-side verdict check from docs/verdict.md. */
export function verifyVerdict(header, secret, { method, path, now = Math.floor(Date.now() / 1000), maxAge = 60 }) {
  const at = header.lastIndexOf(';sig=');
  if (at < 0) return { ok: false, why: 'no sig' };
  const body = header.slice(0, at);
  const sig = unb64(header.slice(at + 5));
  const want = crypto.createHmac('sha256', secret).update(body).digest();
  if (sig.length !== want.length || !crypto.timingSafeEqual(sig, want)) return { ok: false, why: 'bad signature' };
  const f = Object.fromEntries(body.split(';').map((p) => { const i = p.indexOf('='); return [p.slice(0, i), p.slice(i + 1)]; }));
  const p = f.p.replaceAll('%3B', ';').replaceAll('%25', '%');
  if (f.v !== '1') return { ok: false, why: 'version' };
  if (Math.abs(now - Number(f.t)) > maxAge) return { ok: false, why: 'stale' };
  if (f.m !== method || p !== path) return { ok: false, why: 'other request' };
  return { ok: true, fields: f };
}

/** Splits top-up token bytes into fields (layout in docs/protocol.md § Top-ups). */
export function parseTopUp(bytes) {
  const b = Buffer.from(bytes);
  const routeLen = b[71];
  return {
    kind: b[0], kid: b.subarray(1, 5), id: b.subarray(5, 21), first: b.subarray(21, 37),
    issuedAt: Number(b.readBigUInt64BE(37)), expiresAt: Number(b.readBigUInt64BE(45)),
    difficulty: b[53], k: b[54], binding: b.subarray(55, 71),
    route: b.subarray(72, 72 + routeLen).toString('utf8'), signature: b.subarray(72 + routeLen),
  };
}

/** Builds and signs a top-up of the challenge token `first` (bytes). */
export function mintTopUp({ id, issuedAt, difficulty, k }, first, secret) {
  const f = parseToken(first);
  const route = Buffer.from(f.route, 'utf8');
  const head = Buffer.alloc(72);
  head[0] = 0x54;
  kid(secret).copy(head, 1);
  Buffer.from(id).copy(head, 5);
  Buffer.from(f.id).copy(head, 21);
  head.writeBigUInt64BE(BigInt(issuedAt), 37);
  head.writeBigUInt64BE(BigInt(f.expiresAt), 45);
  head[53] = difficulty; head[54] = k;
  Buffer.from(f.binding).copy(head, 55);
  head[71] = route.length;
  const body = Buffer.concat([head, route]);
  const tag = crypto.createHmac('sha256', secret).update('gate top-up v1\0').update(body).digest();
  return Buffer.concat([body, tag]);
}

/** Solves the first `count` sub-puzzles of a top-up (small difficulties only). */
export function solveTopUp(topup, count, signals = '') {
  const t = parseTopUp(topup);
  const sd = seed(topup, signals);
  const nonces = [];
  for (let i = 0; i < count; i++) {
    let n = 0;
    while (zeroBits(digest(sd, i, n)) < t.difficulty) n++;
    nonces.push(n);
  }
  return nonces;
}

/** A solution with top-ups: `parts` are [top-up bytes, nonces] pairs. */
export function bundle(firstSolution, parts) {
  return firstSolution + parts.map(([t, nonces]) => {
    const nb = Buffer.alloc(8 * nonces.length);
    nonces.forEach((n, i) => nb.writeBigUInt64BE(BigInt(n), 8 * i));
    return `~${b64(t)}.${b64(nb)}`;
  }).join('');
}

/** The work a bundle pays, in expected hashes: k·2^d for the challenge, solved·2^d per top-up. */
export function bundleWork(solutionString) {
  const [first, ...tops] = solutionString.split('~');
  const t = parseToken(unb64(first.split('.')[0]));
  let work = t.k * 2 ** t.difficulty;
  for (const part of tops) {
    const [tok, nonces] = part.split('.');
    work += (unb64(nonces).length / 8) * 2 ** parseTopUp(unb64(tok)).difficulty;
  }
  return work;
}
