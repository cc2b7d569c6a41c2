// Offline queue of log entries (IndexedDB), sent to the JSON API when the connection allows.
// Loaded on every inspector/chief page: registers the service worker, flushes on load, on
// `online` and every 30 s while entries wait, and warns before logging out with entries unsent.
// Record: {id, user, kind, label, createdAt, body (API JSON), photos: [Blob], photosDone: [index],
//          eventAck, state: "pending" | "needs_action" | "auth", status, error, warnings}
(function () {
  var STORE = "entries", me = (document.currentScript && document.currentScript.dataset.user) || "";
  var flushing = null, again = false;

  function open() {
    return new Promise(function (ok, bad) {
      var r = indexedDB.open("fieldlog-queue", 1);
      r.onupgradeneeded = function () { r.result.createObjectStore(STORE, { keyPath: "id" }); };
      r.onsuccess = function () { ok(r.result); };
      r.onerror = function () { bad(r.error); };
    });
  }

  // Run fn(store) in one transaction; resolves with the request's result once committed.
  function tx(mode, fn) {
    return open().then(function (db) {
      return new Promise(function (ok, bad) {
        var t = db.transaction(STORE, mode), req = fn(t.objectStore(STORE));
        t.oncomplete = function () { db.close(); ok(req && req.result); };
        t.onerror = t.onabort = function () { db.close(); bad(t.error); };
      });
    });
  }

  function all() {
    return tx("readonly", function (s) { return s.getAll(); }).then(function (rows) {
      return (rows || []).sort(function (a, b) { return a.createdAt < b.createdAt ? -1 : 1; });
    });
  }
  function get(id) { return tx("readonly", function (s) { return s.get(id); }); }
  function put(rec) { return tx("readwrite", function (s) { return s.put(rec); }).then(changed); }
  function remove(id) { return tx("readwrite", function (s) { return s.delete(id); }).then(changed); }
  function changed() { document.dispatchEvent(new CustomEvent("fieldlog:queue")); }

  function token() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : "";
  }

  // A weak signal can hang a request for minutes: give up after ms and retry later.
  function send(url, body, headers, ms) {
    var ctl = window.AbortController ? new AbortController() : null;
    var timer = ctl && setTimeout(function () { ctl.abort(); }, ms || 20000);
    headers["X-CSRF-Token"] = token();
    return fetch(url, { method: "POST", body: body, headers: headers, credentials: "same-origin",
                        signal: ctl && ctl.signal })
      .then(function (r) {
        clearTimeout(timer);
        return r.json().catch(function () { return {}; }).then(function (j) { return { status: r.status, body: j }; });
      }, function () { clearTimeout(timer); return { status: 0, body: {} }; });
  }

  // A page cached by the service worker may carry an old CSRF token: ask for the current one once.
  function refreshToken() {
    return fetch("/log/token", { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) return false;
      return r.json().then(function (j) {
        var m = document.querySelector('meta[name="csrf-token"]');
        if (m && j.csrf_token) m.content = j.csrf_token;
        return !!j.csrf_token;
      });
    }).catch(function () { return false; });
  }

  function message(res) {
    var d = res.body && res.body.detail;
    if (typeof d === "string") return d;
    if (d && d.length) return d.map(function (e) { return e.msg; }).join("；");
    return "服务器拒绝了这条记录（" + res.status + "）";
  }

  // POST with one retry after a token refresh on 403; classifies the answer.
  function post(url, body, headers, ms) {
    return send(url, body, headers, ms).then(function (res) {
      if (res.status !== 403) return res;
      return refreshToken().then(function (ok) { return ok ? send(url, body, headers, ms) : res; });
    });
  }

  function outcome(rec, res) {
    if (res.status === 200 || res.status === 201) return "ok";
    if (res.status === 0 || res.status >= 500 || res.status === 429) {
      rec.error = res.status ? "服务器暂时无法处理，稍后自动重发" : "";
      return "offline";
    }
    rec.status = res.status;
    rec.detail = res.body && res.body.detail;
    // A lapsed session shows as 401, or as 403 on the CSRF check (the cookie no longer matches).
    if (res.status === 401 || (res.status === 403 && /CSRF/.test(message(res)))) {
      rec.state = "auth";
      rec.error = "登录已过期，请重新登录后发送";
      return "auth";
    }
    rec.state = "needs_action";
    rec.error = message(res);
    return "refused";
  }

  // Send one entry: the event first, then each photo not yet acknowledged.
  function sendOne(rec) {
    var step = Promise.resolve("ok");
    if (!rec.eventAck) {
      step = post("/api/v1/events", JSON.stringify(rec.body), { "Content-Type": "application/json" })
        .then(function (res) {
          var o = outcome(rec, res);
          if (o === "ok") {
            rec.eventAck = true;
            rec.warnings = (res.body && res.body.warnings) || [];
          }
          return put(rec).then(function () { return o; });
        });
    }
    (rec.photos || []).forEach(function (blob, i) {
      step = step.then(function (o) {
        if (o !== "ok" || rec.photosDone.indexOf(i) >= 0) return o;
        var fd = new FormData();
        fd.append("photo", blob, "photo-" + (i + 1) + ".jpg");
        return post("/api/v1/events/" + rec.id + "/photos", fd, {}, 120000).then(function (res) {
          var r = outcome(rec, res);
          if (r === "ok") rec.photosDone.push(i);
          return put(rec).then(function () { return r; });
        });
      });
    });
    return step.then(function (o) {
      if (o !== "ok") return o;
      document.dispatchEvent(new CustomEvent("fieldlog:sent", { detail: rec }));
      return remove(rec.id).then(function () { return "ok"; });
    });
  }

  function flush() {
    // Asked again while sending (e.g. `online` fired mid-way): run once more when done.
    if (flushing) { again = true; return flushing; }
    flushing = all().then(function (rows) {
      var chain = Promise.resolve("ok");
      rows.forEach(function (rec) {
        chain = chain.then(function (o) {
          if (o === "offline" || o === "auth") return o;
          if (rec.user !== me || rec.state === "needs_action") return "ok";
          rec.state = "pending";
          return sendOne(rec).then(function (r) { return r === "refused" ? "ok" : r; });
        });
      });
      return chain;
    }).catch(function () { return "offline"; }).then(function (o) {
      flushing = null;
      changed();
      if (!again) return o;
      again = false;
      return flush();
    });
    return flushing;
  }

  function add(rec) {
    rec.user = me;
    rec.createdAt = new Date().toISOString();
    rec.state = "pending";
    rec.photosDone = [];
    rec.eventAck = false;
    return put(rec);
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  window.fieldlogQueue = { add: add, all: all, get: get, put: put, remove: remove, flush: flush, uuid: uuid, user: me };

  if (!window.indexedDB) return;
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
    navigator.serviceWorker.ready.then(function (reg) { if (reg.active) reg.active.postMessage("warm"); });
  }
  window.addEventListener("online", flush);
  document.addEventListener("DOMContentLoaded", flush);
  setInterval(function () {
    all().then(function (rows) {
      if (navigator.onLine && rows.some(function (r) { return r.user === me && r.state === "pending"; })) flush();
    });
  }, 30000);

  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (f.id !== "logout-form" || f.dataset.confirmed) return;
    e.preventDefault();
    all().then(function (rows) {
      var n = rows.filter(function (r) { return r.user === me; }).length;
      if (n && !confirm("还有 " + n + " 条记录没有发送到服务器。退出后须用同一账号重新登录才能发送。确定退出？")) return;
      f.dataset.confirmed = "1";
      // Cached pages carry this user's name and records: drop them on a shared phone.
      var clear = window.caches ? caches.keys().then(function (ks) {
        return Promise.all(ks.map(function (k) { return k.indexOf("fieldlog-pages") === 0 && caches.delete(k); }));
      }) : Promise.resolve();
      clear.catch(function () {}).then(function () { f.submit(); });
    }, function () { f.submit(); });
  });
})();
