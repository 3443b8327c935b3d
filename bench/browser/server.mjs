// Tiny static HTTP server for the browser benchmarks.
//
//   const { url, close } = await serve({ '/': benchDir, '/node_modules/': nodeModulesDir });
//
// `rootDirs` maps URL prefixes to directories: either an object
// { '/prefix/': '/abs/dir' } or an array of [prefix, dir] pairs, or a single
// directory string (served at '/'). The longest matching prefix wins.
// Listens on 127.0.0.1 only, on a free port chosen by the OS. Serves
// `application/wasm` for .wasm (so WebAssembly.instantiateStreaming /
// compileStreaming work) and `text/javascript` for .js/.mjs (so module
// workers load). No caching, no directory listings, no path traversal.

import { createServer } from 'node:http';
import { stat, readFile } from 'node:fs/promises';
import { resolve, sep, extname } from 'node:path';

export const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

function normalizeRoots(rootDirs) {
  let pairs;
  if (typeof rootDirs === 'string') pairs = [['/', rootDirs]];
  else if (Array.isArray(rootDirs)) pairs = rootDirs;
  else pairs = Object.entries(rootDirs);
  return pairs
    .map(([prefix, dir]) => {
      let p = prefix.startsWith('/') ? prefix : `/${prefix}`;
      if (!p.endsWith('/')) p += '/';
      return [p, resolve(dir)];
    })
    .sort((a, b) => b[0].length - a[0].length);
}

export async function serve(rootDirs) {
  const roots = normalizeRoots(rootDirs);

  const server = createServer(async (req, res) => {
    const send = (code, body, type = 'text/plain; charset=utf-8') => {
      res.writeHead(code, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(body);
    };
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed');
      let pathname;
      try {
        pathname = decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname);
      } catch {
        return send(400, 'bad request');
      }
      if (pathname.includes('\0')) return send(400, 'bad request');
      const root = roots.find(([prefix]) => pathname.startsWith(prefix) || `${pathname}/` === prefix);
      if (!root) return send(404, 'not found');
      const [prefix, dir] = root;
      let rel = pathname.slice(prefix.length);
      if (rel === '' || rel.endsWith('/')) rel += 'index.html';
      const file = resolve(dir, rel);
      if (file !== dir && !file.startsWith(dir + sep)) return send(403, 'forbidden');
      let st;
      try {
        st = await stat(file);
      } catch {
        return send(404, 'not found');
      }
      if (!st.isFile()) return send(404, 'not found');
      const body = await readFile(file);
      res.writeHead(200, {
        'Content-Type': MIME[extname(file).toLowerCase()] || 'application/octet-stream',
        'Content-Length': body.length,
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (err) {
      if (!res.headersSent) send(500, String(err?.message || err));
      else res.destroy();
    }
  });

  await new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const { port } = server.address();
  const url = `http://127.0.0.1:${port}`;

  const close = () =>
    new Promise((resolveClose) => {
      server.close(() => resolveClose());
      server.closeAllConnections?.();
    });

  return { url, close };
}
