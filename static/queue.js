// Offline queue of log entries (IndexedDB), sent to the JSON API when the connection allows.
// Loaded on every inspector/chief page: registers the service worker, flushes on load, on `online`,
// on `visibilitychange` and every 30 s while entries wait, shows the offline banner, and warns before logging
// out with entries unsent. On the sign-in page (no user) it only counts the entries waiting on this phone.
// The service worker imports this file too (static/sw.js): there it sends the photos, so that an upload goes
// on while the inspector opens other pages.
// Record: {id, user, kind, label, createdAt, body (API JSON), photos: [Blob], photosDone: [index],
//          sha: [hex], started: [bool], eventAck, state: "pending" | "needs_action" | "auth", status, error, warnings}
// Sending: every entry's event first (small, from the page), then the photos, each through the resumable
// upload API (fieldlog/routes/api_uploads.py), by the service worker when one controls the page (else by the
// page): the server keeps what arrived, so a dropped connection costs a round trip, not the bytes already sent.
// One sender of events and one of photos at a time per phone (Web Locks).
// Texts come from the server's catalogue (fieldlog/messages.py, keys "phone.*") in <script class="fieldlog-texts">;
// the page hands them, its user and its CSRF token to the worker with each request to send photos.
(function () {
  var PAGE = typeof document !== "undefined";
  var STORE = "entries", me = PAGE ? (document.currentScript && document.currentScript.dataset.user) || "" : "";
  var leaving = false, TEXT = {}, csrf = "", netOk = true, inflight = null;
  var DAY_MS = 24 * 3600 * 1000, FORMAT = "fieldlog-queue";

  if (PAGE) Array.prototype.forEach.call(document.querySelectorAll("script.fieldlog-texts"), function (s) {
    try { var o = JSON.parse(s.textContent); for (var k in o) TEXT[k] = o[k]; } catch (e) { /* no texts: keys show */ }
  });
  function T(key, values) {
    return (TEXT[key] || key).replace(/\{(\w+)\}/g, function (m, n) { return values && n in values ? values[n] : m; });
  }

  // In the worker, what would be a page's DOM event goes to every open page, which dispatches it (see below).
  function emit(name, detail) {
    if (PAGE) { document.dispatchEvent(new CustomEvent(name, { detail: detail })); return; }
    self.clients.matchAll({ type: "window" }).then(function (cs) {
      cs.forEach(function (c) { c.postMessage({ fieldlog: name, detail: detail }); });
    });
  }

  function open() {
    return new Promise(function (ok, bad) {
      var r = indexedDB.open("fieldlog-queue", 1);
      r.onupgradeneeded = function () { r.result.createObjectStore(STORE, { keyPath: "id" }); };
      r.onsuccess = function () { ok(r.result); };
      r.onerror = function () { bad(r.error); };
    });
  }

  // Run fn(store) in one transaction; resolves with the request's result once committed. Writes ask for
  // strict durability (flushed to disk before `complete`) where the browser offers it.
  function tx(mode, fn) {
    return open().then(function (db) {
      return new Promise(function (ok, bad) {
        var t = mode === "readwrite" ? db.transaction(STORE, mode, { durability: "strict" }) : db.transaction(STORE, mode);
        var req = fn(t.objectStore(STORE));
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
  function mine() { return all().then(function (rows) { return rows.filter(function (r) { return r.user === me; }); }); }
  function get(id) { return tx("readonly", function (s) { return s.get(id); }); }
  function put(rec) { return tx("readwrite", function (s) { return s.put(rec); }).then(changed); }
  function remove(id) { return tx("readwrite", function (s) { return s.delete(id); }).then(changed); }
  function changed() { emit("fieldlog:queue"); }
  function stale(rec, now) { return (now || Date.now()) - new Date(rec.createdAt).getTime() > DAY_MS; }

  function token() {
    var m = PAGE && document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : csrf;
  }

  // Whether the last request reached the server: the offline banner also shows when the phone says it is
  // online but nothing gets through.
  function reached(yes) {
    if (yes === netOk) return;
    netOk = yes;
    emit("fieldlog:net", yes);
  }

  // A weak signal can hang a request for minutes: give up after ms and retry later. A photo's upload is
  // `abortable`: when the phone goes offline it is given up at once (see abort), so that the next attempt
  // resumes from the server's offset instead of the browser resending the whole body on its own.
  function send(method, url, body, headers, ms, abortable) {
    var ctl = self.AbortController ? new AbortController() : null;
    var timer = ctl && setTimeout(function () { ctl.abort(); }, ms || 20000);
    if (abortable) inflight = ctl;
    headers["X-CSRF-Token"] = token();
    return fetch(url, { method: method, body: body, headers: headers, credentials: "same-origin", signal: ctl && ctl.signal })
      .then(function (r) {
        reached(true);
        return r.json().catch(function () { return {}; }).then(function (j) { done(); return { status: r.status, body: j }; });
      }, function () { done(); reached(false); return { status: 0, body: {} }; });
    function done() { clearTimeout(timer); if (inflight === ctl) inflight = null; }
  }
  function abort() { if (inflight) inflight.abort(); }

  // A page cached by the service worker may carry an old CSRF token: ask for the current one once.
  function refreshToken() {
    return fetch("/log/token", { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) return false;
      return r.json().then(function (j) {
        var m = PAGE && document.querySelector('meta[name="csrf-token"]');
        if (m && j.csrf_token) m.content = j.csrf_token;
        if (j.csrf_token) csrf = j.csrf_token;
        return !!j.csrf_token;
      });
    }).catch(function () { return false; });
  }

  function message(res) {
    var d = res.body && res.body.detail;
    if (typeof d === "string") return d;
    if (d && d.length) return d.map(function (e) { return e.msg; }).join(T("queue.separator"));
    return T("queue.refused", { status: res.status });
  }

  // A request with one retry after a token refresh on 403.
  function request(method, url, body, headers, ms, abortable) {
    return send(method, url, body, headers, ms, abortable).then(function (res) {
      if (res.status !== 403) return res;
      return refreshToken().then(function (ok) { return ok ? send(method, url, body, headers, ms, abortable) : res; });
    });
  }
  function postJSON(url, obj) { return request("POST", url, JSON.stringify(obj), { "Content-Type": "application/json" }); }

  function outcome(rec, res) {
    if (res.status === 200 || res.status === 201) return "ok";
    if (res.status === 0 || res.status >= 500 || res.status === 429 || res.status === 409 && res.body && "offset" in res.body) {
      rec.error = res.status && res.status !== 409 ? T("queue.server_busy") : "";
      return "offline";
    }
    rec.status = res.status;
    rec.detail = res.body && res.body.detail;
    // A lapsed session shows as 401, or as 403 on the CSRF check (the cookie no longer matches).
    if (res.status === 401 || (res.status === 403 && /CSRF/.test(message(res)))) {
      rec.state = "auth";
      rec.error = T("queue.session_expired");
      return "auth";
    }
    rec.state = "needs_action";
    rec.error = message(res);
    return "refused";
  }

  function sendEvent(rec) {
    return postJSON("/api/v1/events", rec.body).then(function (res) {
      var o = outcome(rec, res);
      if (o === "ok") {
        rec.eventAck = true;
        rec.error = "";
        rec.warnings = (res.body && res.body.warnings) || [];
      }
      emit("fieldlog:event", { id: rec.id, outcome: o });
      return put(rec).then(function () { return o; });
    });
  }

  function sha256(blob) {
    var bytes = blob.arrayBuffer ? blob.arrayBuffer() : new Response(blob).arrayBuffer();
    return bytes.then(function (buf) { return crypto.subtle.digest("SHA-256", buf); }).then(function (d) {
      return Array.prototype.map.call(new Uint8Array(d), function (x) { return (x + 256).toString(16).slice(1); }).join("");
    });
  }

  // The bytes from `offset` on; a 409 names the offset the server holds, to resume from.
  function sendFrom(url, blob, offset, tries) {
    return request("PUT", url + "?size=" + blob.size + "&offset=" + offset, blob.slice(offset),
                   { "Content-Type": "application/octet-stream" }, 120000, true).then(function (res) {
      var b = res.body || {};
      if (tries < 4 && (res.status === 409 && typeof b.offset === "number" || res.status === 200 && b.complete === false)) {
        return sendFrom(url, blob, b.offset, tries + 1);
      }
      return res;
    });
  }

  // One photo, addressed by its entry and the SHA-256 of its bytes. The first attempt sends from 0 at once
  // (its first byte begins the upload); a later one (after a drop, a closed browser) asks the server's offset first.
  // Without WebCrypto (an insecure context) the photo goes whole, as a multipart form.
  function sendPhoto(rec, i) {
    var blob = rec.photos[i];
    if (!(self.crypto && crypto.subtle)) {
      var fd = new FormData();
      fd.append("photo", blob, "photo-" + (i + 1) + ".jpg");
      return request("POST", "/api/v1/events/" + rec.id + "/photos", fd, {}, 120000);
    }
    rec.sha = rec.sha || [];
    rec.started = rec.started || [];
    var hash = rec.sha[i] ? Promise.resolve(rec.sha[i]) : sha256(blob).then(function (h) { rec.sha[i] = h; return h; });
    return hash.then(function (h) {
      var url = "/api/v1/events/" + rec.id + "/uploads/" + h, resumed = rec.started[i];
      rec.started[i] = true;
      put(rec).catch(function () {}); // not waited for: at worst a later attempt sends from 0 and the server skips
      return (resumed ? request("GET", url, undefined, {}) : Promise.resolve({ status: 404, body: {} })).then(function (res) {
        if (res.status === 200 && res.body.complete) return res;
        if (res.status === 200) return sendFrom(url, blob, res.body.offset, 0);
        return res.status === 404 ? sendFrom(url, blob, 0, 0) : res;
      });
    });
  }

  function sendPhotos(rec) {
    var step = Promise.resolve("ok");
    (rec.photos || []).forEach(function (blob, i) {
      step = step.then(function (o) {
        if (o !== "ok" || rec.photosDone.indexOf(i) >= 0) return o;
        return sendPhoto(rec, i).then(function (res) {
          var r = outcome(rec, res);
          if (r === "ok") rec.photosDone.push(i);
          return put(rec).then(function () { return r; });
        });
      });
    });
    return step.then(function (o) {
      if (o !== "ok") return o;
      emit("fieldlog:sent", { id: rec.id, label: rec.label, warnings: rec.warnings || [] });
      return remove(rec.id).then(function () { return "ok"; });
    });
  }

  // Each pass goes over the waiting entries in order; "offline" or "auth" stops it, a refusal skips one.
  function pass(fn) {
    return all().then(function (rows) {
      var chain = Promise.resolve("ok");
      rows.forEach(function (rec) {
        chain = chain.then(function (o) {
          if (o === "offline" || o === "auth") return o;
          if (rec.user !== me || rec.state === "needs_action") return "ok";
          if (rec.state === "auth") rec.state = "pending"; // a new session (or token) may have come: try again
          return fn(rec).then(function (r) { return r === "refused" ? "ok" : r; });
        });
      });
      return chain;
    });
  }

  // fn run under the lock `name`, one run at a time; asked again while running (e.g. `online` fired mid-way),
  // it runs once more when done.
  function sender(name, fn) {
    var running = null, again = false;
    return function go() {
      if (running) { again = true; return running; }
      var locked = navigator.locks ? navigator.locks.request(name, fn) : fn();
      running = locked.catch(function () { return "offline"; }).then(function (o) {
        running = null;
        changed();
        if (!again) return o;
        again = false;
        return go();
      });
      return running;
    };
  }

  var sendEvents = sender("fieldlog-queue", function () {
    return pass(function (rec) { return rec.eventAck ? Promise.resolve("ok") : sendEvent(rec); });
  });
  var sendAllPhotos = sender("fieldlog-photos", function () {
    return pass(function (rec) { return rec.eventAck ? sendPhotos(rec) : Promise.resolve("ok"); });
  });

  // The photos go to the service worker, which outlives this page; without one, this page sends them
  // (unless it is about to leave: the next page would only cut them off).
  function photos() {
    var worker = PAGE && navigator.serviceWorker && navigator.serviceWorker.controller;
    if (worker) {
      worker.postMessage({ fieldlog: "photos", user: me, token: token(), texts: TEXT });
      return Promise.resolve("ok");
    }
    return leaving ? Promise.resolve("ok") : sendAllPhotos();
  }

  function flush() {
    if (!me) return Promise.resolve("ok");
    return sendEvents().then(function (o) { return o === "offline" || o === "auth" ? o : photos(); });
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

  // --- export to a file and import back (the escape hatch before a browser is cleared) ---------------
  function base64(blob) {
    return new Promise(function (ok, bad) {
      var r = new FileReader();
      r.onload = function () { ok(String(r.result).split(",")[1] || ""); };
      r.onerror = function () { bad(r.error); };
      r.readAsDataURL(blob);
    });
  }

  function exportText() {
    return mine().then(function (rows) {
      return Promise.all(rows.map(function (r) {
        return Promise.all((r.photos || []).map(function (b) {
          return base64(b).then(function (data) { return { type: b.type || "image/jpeg", data: data }; });
        })).then(function (ph) {
          return { id: r.id, user: r.user, kind: r.kind, label: r.label, createdAt: r.createdAt, body: r.body,
                   eventAck: !!r.eventAck, photosDone: r.photosDone || [], photos: ph };
        });
      })).then(function (entries) {
        return { text: JSON.stringify({ format: FORMAT, version: 1, exportedAt: new Date().toISOString(), entries: entries }),
                 count: entries.length };
      });
    });
  }

  var UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

  function blobOf(p) {
    var bin = atob(p.data), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Blob([bytes], { type: typeof p.type === "string" ? p.type : "image/jpeg" });
  }

  // Every entry checked before any is added; ids are kept, so an entry already queued (or already on the
  // server, which answers a resend with the stored event and photo) is never doubled.
  function parseExport(text) {
    var doc = JSON.parse(text);
    if (!doc || doc.format !== FORMAT || doc.version !== 1 || !Array.isArray(doc.entries)) throw new Error("format");
    return doc.entries.map(function (e) {
      var ok = e && typeof e.id === "string" && UUID.test(e.id) && e.body && typeof e.body === "object" &&
        e.body.id === e.id && typeof e.body.kind === "string" && typeof e.label === "string" &&
        !isNaN(new Date(e.createdAt).getTime()) && Array.isArray(e.photos) && typeof e.user === "string" && e.user;
      if (!ok) throw new Error("entry");
      var photos = e.photos.map(function (p) {
        if (!p || typeof p.data !== "string") throw new Error("photo");
        return blobOf(p);
      });
      return { id: e.id, user: e.user, kind: e.body.kind, label: e.label, createdAt: new Date(e.createdAt).toISOString(),
               body: e.body, photos: photos, state: "pending", eventAck: e.eventAck === true,
               photosDone: (Array.isArray(e.photosDone) ? e.photosDone : []).filter(function (i) { return i >= 0 && i < photos.length; }) };
    });
  }

  function importText(text) {
    var recs;
    try { recs = parseExport(text); } catch (err) { return Promise.reject(new Error(T("queue.import_malformed"))); }
    var added = 0, kept = 0;
    return recs.reduce(function (chain, rec) {
      return chain.then(function () {
        return get(rec.id).then(function (have) {
          if (have) { kept++; return null; }
          added++;
          return put(rec);
        });
      });
    }, Promise.resolve()).then(function () {
      return { added: added, kept: kept, others: recs.filter(function (r) { return r.user !== me; }).length };
    });
  }

  // --- photos: shrunk on the phone before they are queued (the logging forms and the notice form) -----------
  // About 1600 px at quality 0.65: a 3 MB, 4000 x 3000 camera photo becomes about 200 KB (bench/phone_photo.py).
  var LONG_SIDE = 1600, QUALITY = 0.65;

  function decode(file) {
    if (self.createImageBitmap) return createImageBitmap(file, { imageOrientation: "from-image" });
    return new Promise(function (ok, bad) {
      var img = new Image();
      img.onload = function () { ok(img); };
      img.onerror = bad;
      img.src = URL.createObjectURL(file);
    });
  }

  // A page's photo as it is queued: shrunk and re-encoded, or the file itself when it cannot be decoded here
  // (e.g. HEIC: the server decides).
  function shrink(file) {
    if (!PAGE) return Promise.resolve(file);
    return decode(file).then(function (img) {
      var s = Math.min(1, LONG_SIDE / Math.max(img.width, img.height)), c = document.createElement("canvas");
      c.width = Math.round(img.width * s);
      c.height = Math.round(img.height * s);
      c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
      return new Promise(function (ok) { c.toBlob(function (b) { ok(b || file); }, "image/jpeg", QUALITY); });
    }).catch(function () { return file; });
  }

  // Resolves with the outcome of an entry's event ("ok", "refused", "offline", "auth"), or null after ms.
  function answer(id, ms) {
    return new Promise(function (ok) {
      var timer = setTimeout(function () { done(null); }, ms);
      function on(e) { if (e.detail.id === id) done(e.detail.outcome); }
      function done(o) { clearTimeout(timer); document.removeEventListener("fieldlog:event", on); ok(o); }
      document.addEventListener("fieldlog:event", on);
    });
  }

  self.fieldlogQueue = { add: add, all: all, mine: mine, get: get, put: put, remove: remove, flush: flush, uuid: uuid,
                         sha256: sha256, shrink: shrink, answer: answer, leave: function (yes) { leaving = yes !== false; },
                         user: me, t: T, stale: stale, exportText: exportText, importText: importText };

  if (!self.indexedDB) return;

  // In the service worker: a page asks for the photos to be sent (its user, its token, its texts); the worker
  // stays alive until they are sent or the connection fails (the next page's request resumes them).
  if (!PAGE) {
    self.addEventListener("message", function (e) {
      var d = e.data || {};
      if (d.fieldlog === "offline") abort();
      if (d.fieldlog !== "photos" || !d.user) return;
      me = d.user;
      csrf = d.token || csrf;
      TEXT = d.texts || TEXT;
      e.waitUntil(sendAllPhotos());
    });
    return;
  }

  // The sign-in page: say how many entries wait on this phone, and for which accounts.
  if (!me) {
    document.addEventListener("DOMContentLoaded", function () {
      var box = document.getElementById("queue-waiting");
      if (!box) return;
      all().then(function (rows) {
        var users = rows.map(function (r) { return r.user; }).filter(function (u, i, a) { return u && a.indexOf(u) === i; });
        box.querySelector(".queue-count").textContent = rows.length;
        box.querySelector(".queue-users").textContent = users.join(T("queue.user_separator"));
        box.hidden = !rows.length;
      }).catch(function () {});
    });
    return;
  }

  // The banner while offline: the phone says so, or the last request (this page's or the worker's) got nowhere.
  function banner() {
    var b = document.getElementById("offline-banner");
    if (b) b.hidden = navigator.onLine && netOk;
  }
  window.addEventListener("offline", function () {
    banner();
    abort();
    var worker = navigator.serviceWorker && navigator.serviceWorker.controller;
    if (worker) worker.postMessage({ fieldlog: "offline" });
  });
  window.addEventListener("online", function () { netOk = true; banner(); });
  document.addEventListener("fieldlog:net", function (e) { netOk = e.detail; banner(); });
  document.addEventListener("DOMContentLoaded", banner);
  banner();

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
    navigator.serviceWorker.ready.then(function (reg) { if (reg.active) reg.active.postMessage("warm"); });
    // What the worker reports while it sends photos: the same events as this page's own sending.
    navigator.serviceWorker.addEventListener("message", function (e) {
      var d = e.data || {};
      if (d.fieldlog) document.dispatchEvent(new CustomEvent(d.fieldlog, { detail: d.detail }));
    });
    // The worker took control (first visit): it sends the photos from now on.
    navigator.serviceWorker.addEventListener("controllerchange", flush);
  }
  // Ask once per page that the browser keep this origin's storage (the queue) under storage pressure.
  if (navigator.storage && navigator.storage.persist) {
    navigator.storage.persisted().then(function (p) { return p || navigator.storage.persist(); })
      .then(function (granted) { document.dispatchEvent(new CustomEvent("fieldlog:persist", { detail: granted })); })
      .catch(function () {});
  }
  window.addEventListener("online", flush);
  flush(); // deferred: the document is parsed; sending need not wait for the scripts after this one
  document.addEventListener("visibilitychange", function () { if (!document.hidden) flush(); });
  setInterval(function () {
    mine().then(function (rows) {
      if (navigator.onLine && rows.some(function (r) { return r.state === "pending"; })) flush();
    });
  }, 30000);

  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (f.id !== "logout-form" || f.dataset.confirmed) return;
    e.preventDefault();
    mine().then(function (rows) {
      var n = rows.length;
      if (n && !confirm(T("queue.logout_confirm", { n: n }))) return;
      f.dataset.confirmed = "1";
      // Cached pages carry this user's name and records: drop them on a shared phone.
      var clear = window.caches ? caches.keys().then(function (ks) {
        return Promise.all(ks.map(function (k) { return k.indexOf("fieldlog-pages") === 0 && caches.delete(k); }));
      }) : Promise.resolve();
      clear.catch(function () {}).then(function () { f.submit(); });
    }, function () { f.submit(); });
  });
})();
