// Service worker, served at /sw.js (scope /) by fieldlog/routes/log.py, which fills in the
// placeholders. Pages: network first (short timeout), falling back to the cached copy, and for a page never
// cached to the offline page (/offline); static files (content-hashed names): cache first; API calls and every
// non-GET request go straight to the network, never cached.
// It also sends the queue's photos (queue.js, imported below): a page asks, and the upload goes on in here
// while the inspector opens other pages.
var VERSION = "__VERSION__";
var PAGES = __PAGES__;
var STATIC = __STATIC__;
var OFFLINE = "/offline";
var PAGE_CACHE = "fieldlog-pages-" + VERSION, STATIC_CACHE = "fieldlog-static-" + VERSION;
importScripts(__QUEUE__);

function store(cache, url) {
  return fetch(url, { credentials: "same-origin", cache: "no-cache" }).then(function (r) {
    // A redirect means the session ended (login page): never keep that as the logging page.
    if (r.ok && !r.redirected) return cache.put(url, r);
  }).catch(function () {});
}

function warm(urls, name) {
  return caches.open(name).then(function (c) {
    return Promise.all(urls.map(function (u) {
      return c.match(u).then(function (hit) { return hit || store(c, u); });
    }));
  });
}

self.addEventListener("install", function (e) {
  e.waitUntil(Promise.all([warm(STATIC, STATIC_CACHE), warm(PAGES.concat([OFFLINE]), PAGE_CACHE)]).then(function () {
    return self.skipWaiting();
  }));
});

self.addEventListener("activate", function (e) {
  e.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) {
      return k.indexOf("fieldlog-") === 0 && k !== PAGE_CACHE && k !== STATIC_CACHE;
    }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

// A signed-in page asks for the logging pages to be cached (again, e.g. after a logout cleared them).
self.addEventListener("message", function (e) {
  if (e.data === "warm") e.waitUntil(warm(PAGES.concat([OFFLINE]), PAGE_CACHE));
});

function isPage(path) { return PAGES.indexOf(path) >= 0; }

function networkFirst(req, url) {
  return caches.open(PAGE_CACHE).then(function (cache) {
    var net = fetch(req).then(function (r) {
      if (r.ok && !r.redirected && isPage(url.pathname) && !url.search) cache.put(url.pathname, r.clone());
      return r;
    });
    // Never another page under this address: the cached copy of this one, else the page saying it was not kept.
    var fallback = function () {
      return cache.match(url.pathname).then(function (hit) {
        return hit || cache.match(OFFLINE).then(function (off) { return off || net; });
      });
    };
    var slow = new Promise(function (ok, bad) { setTimeout(bad, 6000); });
    // Only the logging pages give up on a slow network; other pages wait for it.
    return (isPage(url.pathname) ? Promise.race([net, slow]) : net).catch(fallback);
  });
}

function cacheFirst(req) {
  return caches.open(STATIC_CACHE).then(function (cache) {
    return cache.match(req, { ignoreSearch: true }).then(function (hit) {
      return hit || fetch(req).then(function (r) {
        if (r.ok && STATIC.indexOf(new URL(req.url).pathname) >= 0) cache.put(req, r.clone());
        return r;
      });
    });
  });
}

self.addEventListener("fetch", function (e) {
  var req = e.request, url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== location.origin || url.pathname.indexOf("/api/") === 0) return;
  if (STATIC.indexOf(url.pathname) >= 0) e.respondWith(cacheFirst(req));
  else if (req.mode === "navigate") e.respondWith(networkFirst(req, url));
});
