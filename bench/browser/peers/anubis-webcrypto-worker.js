// The WebCrypto-per-nonce loop as Anubis's WebCrypto solver structures it (written here from
// its description, not copied): per nonce, the challenge's 64-character hex string plus the
// decimal nonce is UTF-8 encoded and hashed with one `await crypto.subtle.digest('SHA-256')`
// (about 70 bytes: two compressions), then the leading bytes are checked. No early exit, so a
// task of n nonces is exactly n hash evaluations.
'use strict';
const encoder = new TextEncoder();
self.onmessage = async ({ data }) => {
  try {
    const { challenge, n } = data;
    let hits = 0;
    for (let nonce = 0; nonce < n; nonce++) {
      const h = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(challenge + nonce)));
      if (h[0] === 0 && h[1] === 0) hits++;
    }
    self.postMessage({ done: true, tries: n, hits });
  } catch (err) {
    self.postMessage({ done: false, error: String(err?.message || err) });
  }
};
