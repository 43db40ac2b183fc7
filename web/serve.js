#!/usr/bin/env node
// `npm run web`: serves the built decoder page (web/dist) on 127.0.0.1, static
// files only. `node web/serve.js [--port N]` (default 8080; 0 picks a free one).
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.png': 'image/png',
};

/** Starts the server; resolves to it once listening. */
function serveWeb({ root = path.join(__dirname, 'dist'), port = 8080, host = '127.0.0.1' } = {}) {
  const base = path.resolve(root);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const rel = decodeURIComponent(url.pathname).replace(/\/$/, '/index.html');
    const file = path.resolve(base, `.${rel}`);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (!file.startsWith(base + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${url.pathname}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': MIME[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
    if (req.method === 'HEAD') res.end();
    else fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

module.exports = { serveWeb };

if (require.main === module) {
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`serve: --port ${process.argv[i + 1]}: expected 0..65535`);
    process.exit(2);
  }
  if (!fs.existsSync(path.join(__dirname, 'dist', 'index.html'))) {
    console.error('serve: web/dist has no page: run npm run build:web');
    process.exit(1);
  }
  serveWeb({ port }).then((server) => {
    const { port: bound } = server.address();
    console.log(`the decoder page: http://127.0.0.1:${bound}/#0x96000045 (Ctrl-C stops)`);
  });
}
