// The decoder page's service worker: it keeps the page's files, so the page
// works offline once loaded. Network first, so a rebuilt page shows at once.
const CACHE = 'kvm-debug-decoder-v1';
const FILES = ['./', 'index.html', 'style.css', 'js/web/app.js', 'js/ts/src/syndrome-text.js',
  'pkg/kvm_debug_wasm.js', 'pkg/kvm_debug_wasm_bg.wasm'];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
self.addEventListener('fetch', (event) => {
  if (event.request.method !== 'GET') return;
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        const copy = response.clone();
        if (response.ok) caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        return response;
      })
      .catch(() => caches.match(event.request, { ignoreSearch: true }).then((hit) => hit ?? Response.error())),
  );
});
