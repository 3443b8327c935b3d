// The Node implementation of the wire protocol (protocol.mjs, written from docs/protocol.md)
// against the known answers the Python implementation generated (tests/data/vectors.json):
// challenge tokens, top-up tokens, their smallest nonces, and a bundle's work. No server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { mintToken, mintTopUp, solve, solveTopUp, bundleWork, unb64, b64 } from './protocol.mjs';

const v = JSON.parse(fs.readFileSync(new URL('../data/vectors.json', import.meta.url)));

test('challenge tokens and nonces match the vectors', () => {
  for (const c of v.challenges) {
    const token = mintToken({
      id: Buffer.from(c.id, 'hex'), issuedAt: c.issued_at, expiresAt: c.expires_at, difficulty: c.difficulty, k: c.k,
      risk: c.risk, binding: Buffer.from(c.binding, 'hex'), route: c.route,
    }, c.secret);
    assert.equal(b64(token), c.token);
    assert.deepEqual(solve(token, c.signals), c.nonces);
  }
});

test('top-up tokens, their nonces and a bundle\'s work match the vectors', () => {
  assert.ok(v.topups.length >= 2);
  for (const t of v.topups) {
    const bytes = mintTopUp({ id: Buffer.from(t.id, 'hex'), issuedAt: t.issued_at, difficulty: t.difficulty, k: t.k }, unb64(t.first), t.secret);
    assert.equal(b64(bytes), t.token);
    assert.deepEqual(solveTopUp(bytes, t.nonces.length), t.nonces);
  }
  for (const b of v.bundles) assert.equal(bundleWork(b.solution), b.work);
});
