// Baseline "WebCrypto per nonce" solver, the way Anubis-style widgets run it:
// one `await crypto.subtle.digest('SHA-256', buf)` per nonce, in a dedicated
// worker. buf is 44 bytes: a 36-byte challenge followed by the nonce as a
// big-endian u64. The loop does exactly `n` digests (nonces 0..n-1) and
// checks each for 16 leading zero bits, like a difficulty check would, but
// does not stop early, so one task = exactly n hash evaluations.
'use strict';
self.onmessage = async ({ data }) => {
  try {
    const { prefix, n } = data;
    const buf = new Uint8Array(44);
    buf.set(prefix, 0);
    const view = new DataView(buf.buffer);
    let hits = 0;
    let tries = 0;
    for (let nonce = 0; nonce < n; nonce++) {
      view.setUint32(40, nonce, false); // u64 BE at 36; high word stays 0 (n < 2^32)
      const h = new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
      tries++;
      if (h[0] === 0 && h[1] === 0) hits++;
    }
    self.postMessage({ done: true, tries, hits });
  } catch (err) {
    self.postMessage({ done: false, error: String(err?.message || err) });
  }
};
