// Phone logging pages: the entry form goes through the offline queue (queue.js), photos are shrunk
// on the phone, GPS fills the hidden fields and reorders the subject list, the queue is listed, exported
// to a file and imported back. Texts: the catalogue's "phone.log.*" (Q.t), carried by the page.
// Queue states of an entry (IndexedDB record, see queue.js):
//   pending       kept on the phone, not yet acknowledged; sent on page load, on `online`, every 30 s
//                 and by 立即发送 (eventAck = true: the event is stored, some photos still to send)
//   needs_action  需处理: the server refused it (409/422); kept, with the server's message, until the
//                 inspector discards it explicitly
//   auth          the session expired (401/403): kept until the inspector logs in again
// An entry leaves the queue only after the event and every photo were acknowledged (201/200).
// Saving waits for the event's answer only (a fresh entry the server refuses is shown on the form);
// the photos are sent in the background by the service worker, whatever page is open.
(function () {
  var Q = window.fieldlogQueue;
  if (!Q || !window.indexedDB) return;
  var T = Q.t;
  var photos = [], busy = Promise.resolve(), here = null;

  function $(sel, el) { return (el || document).querySelector(sel); }
  function each(sel, fn) { Array.prototype.forEach.call(document.querySelectorAll(sel), fn); }
  function h(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function hhmm(iso) { var d = new Date(iso); return pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + pad(d.getHours()) + ":" + pad(d.getMinutes()); }

  // --- the queue list (/log) and the count (every logging page) ---------------------------------
  function render() {
    Q.mine().then(function (rows) {
      var old = rows.filter(function (r) { return Q.stale(r); }).length;
      each(".queue-count", function (el) { el.textContent = rows.length; });
      each(".queue-bar", function (el) { el.hidden = !rows.length; });
      var list = $("#queue-list");
      if (!list) return;
      $("#queue").hidden = !rows.length;
      $(".stale-count").textContent = old;
      $("#queue-stale").hidden = !old;
      list.textContent = "";
      if (!rows.length) list.appendChild(h("li", "muted", T("log.empty")));
      rows.forEach(function (r) {
        var li = h("li", "q-" + r.state);
        li.appendChild(h("b", null, r.label));
        var state = T(r.state === "pending" && r.eventAck ? "log.state_photos" : "log.state_" + r.state);
        li.appendChild(h("span", "badge " + (r.state === "pending" ? "amber" : "red"), state));
        li.appendChild(h("div", "muted", T("log.made_at", { time: hhmm(r.createdAt) }) + (r.photos.length ? T("log.photo_count", { n: r.photos.length }) : "")));
        if (r.error) li.appendChild(h("p", r.state === "pending" ? "muted" : "error", r.error));
        if (r.state === "auth") {
          var a = h("a", "button", T("log.sign_in_again"));
          a.href = "/login?next=/log";
          li.appendChild(a);
        }
        if (r.state === "needs_action") {
          li.appendChild(h("p", "muted", T(r.eventAck ? "log.photos_refused" : "log.entry_refused")));
          var b = h("button", "danger", T("log.discard"));
          b.type = "button";
          b.onclick = function () {
            if (confirm(T(r.eventAck ? "log.discard_photos_confirm" : "log.discard_confirm", { label: r.label }))) Q.remove(r.id);
          };
          li.appendChild(b);
        }
        list.appendChild(li);
      });
      var saved = new URLSearchParams(location.search).get("saved"), note = $("#saved-local");
      var mine = rows.filter(function (r) { return r.id === saved; })[0];
      if (note && saved && !$("#saved-server")) {
        if (mine) note.textContent = T(mine.state === "pending" ? "log.saved_local_pending" : "log.saved_local", { label: mine.label });
        else if (!note.hidden) note.textContent = T("log.saved_server");
        note.hidden = !mine && note.hidden;
      }
    });
  }

  function sent(e) {
    var r = e.detail, box = $("#sent-notes");
    if (box) {
      box.appendChild(h("p", "ok", T("log.sent", { label: r.label })));
      (r.warnings || []).forEach(function (w) { box.appendChild(h("p", "warning", T("log.warning", { text: w }))); });
    }
    if ($("#today")) fragment("/log", $("#today")).catch(function () {});
  }

  function sendNow() {
    var st = $("#queue-status");
    if (!navigator.onLine) { st.textContent = T("log.no_network"); return; }
    st.textContent = T("log.sending");
    Q.flush().then(function (o) {
      st.textContent = o === "offline" ? T("log.unreachable") : o === "auth" ? T("log.session_expired") : "";
    });
  }

  // --- export and import: the escape hatch before a browser's data is cleared ------------------
  function today() { var d = new Date(); return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()); }

  function exportQueue(e) {
    var st = $("#queue-status"), name = e.target.dataset.filename.replace("{date}", today());
    Q.exportText().then(function (out) {
      if (!out.count) { st.textContent = T("log.nothing_to_export"); return; }
      var a = h("a"), url = URL.createObjectURL(new Blob([out.text], { type: "application/json" }));
      a.href = url;
      a.download = name;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
      st.textContent = T("log.exported", { n: out.count, file: name });
    });
  }

  function importQueue(e) {
    var file = e.target.files && e.target.files[0], st = $("#queue-status");
    e.target.value = "";
    if (!file) return;
    file.text().then(Q.importText).then(function (r) {
      st.textContent = T("log.imported", { added: r.added }) + (r.kept ? T("log.imported_kept", { kept: r.kept }) : "") +
        (r.others ? T("log.imported_others", { others: r.others }) : "");
      render();
      Q.flush();
    }, function (err) { st.textContent = err.message; });
  }

  function showPersistence(granted) {
    var yes = $("#storage-granted"), no = $("#storage-denied");
    if (!yes) return;
    yes.hidden = !granted;
    no.hidden = !!granted;
  }

  // --- photos: shrunk on the phone before they are queued (Q.shrink, shared with the notice form) ----------
  function addPhoto(blob) {
    var item = { blob: blob, url: URL.createObjectURL(blob) }, li = h("li"), img = h("img"), del = h("button", null, "×");
    // Hashed now, while the inspector fills in the form: the upload is addressed by it.
    if (window.crypto && crypto.subtle) busy = busy.then(function () { return Q.sha256(blob).then(function (x) { item.sha = x; }, function () {}); });
    img.src = item.url;
    img.alt = T("log.photo_alt", { n: photos.length + 1 });
    del.type = "button";
    del.setAttribute("aria-label", T("log.photo_delete"));
    del.onclick = function () {
      photos.splice(photos.indexOf(item), 1);
      URL.revokeObjectURL(item.url);
      li.remove();
    };
    li.appendChild(img);
    li.appendChild(del);
    $("#thumbs").appendChild(li);
    photos.push(item);
  }

  function onPhotos(e) {
    var files = Array.prototype.slice.call(e.target.files || []);
    e.target.value = ""; // each capture adds to the list instead of replacing it
    files.forEach(function (f) { busy = busy.then(function () { return Q.shrink(f).then(addPhoto); }); });
  }

  // --- position and the subject list ----------------------------------------------------------
  function metres(a, b) {
    var r = Math.PI / 180, dl = (b.lon - a.lon) * r, p1 = a.lat * r, p2 = b.lat * r;
    var x = Math.sin((p2 - p1) / 2), y = Math.sin(dl / 2);
    return 12742000 * Math.asin(Math.sqrt(x * x + Math.cos(p1) * Math.cos(p2) * y * y));
  }
  function dist(m) { return m < 1000 ? T("log.distance_m", { m: Math.round(m) }) : T("log.distance_km", { km: (m / 1000).toFixed(1) }); }
  function coords(input) {
    return input.dataset.lat ? { lat: +input.dataset.lat, lon: +input.dataset.lon } : null;
  }

  // Offline the server cannot reorder the list: sort the cached one by distance here.
  function sortHere() {
    var ul = $("#subjects .picks");
    if (!ul || !here) return;
    var items = Array.prototype.slice.call(ul.children).map(function (li) {
      var at = coords($("input", li));
      var m = at ? metres(here, at) : Infinity;
      if (at) $(".dist", li).textContent = dist(m);
      return { li: li, m: $("input", li).value ? m : -1 };
    });
    items.sort(function (a, b) { return a.m - b.m; }).forEach(function (x) { ul.appendChild(x.li); });
  }

  function refreshSubjects() {
    var box = $("#subjects"), q = $("#q"), picked = $('[name="subject"]:checked');
    if (!box || !here) return;
    if (!navigator.onLine) { sortHere(); return; }
    var url = box.dataset.url + "?lat=" + here.lat + "&lon=" + here.lon + "&q=" + encodeURIComponent(q ? q.value : "") +
      "&subject=" + encodeURIComponent(picked ? picked.value : "");
    fragment(url, box).then(filter, sortHere);
  }

  // A page's fragment (what the server sends an htmx request: the HX-Request header) put in place of a box's content.
  function fragment(url, box) {
    return fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } }).then(function (r) {
      if (!r.ok || r.redirected) throw new Error("fragment");
      return r.text();
    }).then(function (html) { box.innerHTML = html; });
  }

  function locate(form) {
    var st = $("#geo-status");
    if (!navigator.geolocation) { st.textContent = T("log.geo_unavailable"); return; }
    st.textContent = T("log.geo_locating");
    navigator.geolocation.getCurrentPosition(function (p) {
      var c = p.coords, acc = Math.round(c.accuracy);
      here = { lat: +c.latitude.toFixed(6), lon: +c.longitude.toFixed(6) };
      form.elements.lat.value = here.lat;
      form.elements.lon.value = here.lon;
      form.elements.accuracy_m.value = acc;
      st.textContent = T(acc > 50 ? "log.geo_poor" : "log.geo_ok", { acc: acc });
      st.className = acc > 50 ? "warning" : "muted";
      refreshSubjects();
    }, function (err) {
      st.textContent = T(err.code === 1 ? "log.geo_denied" : "log.geo_failed");
    }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
  }

  function filter() {
    var q = $("#q"), text = q ? q.value.trim() : "";
    each("#subjects .picks > li", function (li) {
      li.hidden = !!text && li.textContent.indexOf(text) < 0 && !$("input", li).checked;
    });
  }

  function checkDistance() {
    var picked = $('[name="subject"]:checked'), box = $("#geo-warn"), at = picked && coords(picked);
    box.textContent = "";
    if (here && at && metres(here, at) > 1000) {
      box.appendChild(h("p", "warning", T("log.far_away", { distance: dist(metres(here, at)) })));
    }
  }

  // --- the form → a queued entry --------------------------------------------------------------
  function offset(d) {
    var m = -d.getTimezoneOffset(), s = m < 0 ? "-" : "+";
    m = Math.abs(m);
    return s + pad(Math.floor(m / 60)) + ":" + pad(m % 60);
  }
  function localInput(d) {
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function toBody(form) {
    var b = { id: Q.uuid(), kind: form.dataset.kind, fields: {}, inspector_ids: [] }, raw = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      var n = el.name, v = el.value;
      if (!n || el.disabled || el.type === "file" || n === "csrf_token" || n === "id") return;
      if (el.type === "checkbox" && el.hasAttribute("data-field")) { b.fields[n] = el.checked; return; }
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) return;
      if (el.hasAttribute("data-field")) { if (v !== "") b.fields[n] = el.type === "number" ? Number(v) : v; }
      else if (n === "inspector_ids") b.inspector_ids.push(Number(v));
      else raw[n] = v;
    });
    var subject = (raw.subject || "").split(":");
    if (subject[0] === "site" || subject[0] === "plant") b[subject[0] + "_id"] = Number(subject[1]);
    if (raw.plant_id) b.plant_id = Number(raw.plant_id);
    if (raw.place) b.place = raw.place;
    if (raw.note) b.note = raw.note;
    ["lat", "lon", "accuracy_m"].forEach(function (k) { if (raw[k]) b[k] = Number(raw[k]); });
    if (raw.campaign_id === "new") b.campaign = { name: raw.campaign_name || "", start_on: raw.campaign_start_on || "", end_on: raw.campaign_end_on || "" };
    else if (raw.campaign_id) b.campaign_id = Number(raw.campaign_id);
    // The phone's own offset: a wall-clock time means the same instant on the server.
    if (raw.occurred_at) b.occurred_at = raw.occurred_at + (raw.occurred_at.length === 16 ? ":00" : "") + offset(new Date(raw.occurred_at));
    if (!b.inspector_ids.length) delete b.inspector_ids;
    return b;
  }

  function label(form) {
    var picked = $('[name="subject"]:checked', form), name = picked && picked.value ? $(".pick-name", picked.parentNode) : null;
    var place = form.elements.place && form.elements.place.value;
    return form.dataset.label + (name ? " · " + name.textContent : place ? " · " + place : "");
  }

  // A fresh entry the server refuses (422) is not queued: show the messages on the form instead.
  function showErrors(form, detail) {
    var box = $("#form-errors"), ul = h("ul");
    each(".field-error.js", function (el) { el.remove(); });
    (Array.isArray(detail) ? detail : [{ loc: [], msg: String(detail) }]).forEach(function (d) {
      var key = (d.loc || []).slice(1).join(".");
      ul.appendChild(h("li", null, d.msg));
      var at = key && form.querySelector('[data-key~="' + key + '"]');
      if (at) at.appendChild(h("span", "field-error js", d.msg));
    });
    box.textContent = "";
    box.appendChild(h("b", null, T("log.fix_first")));
    box.appendChild(ul);
    box.hidden = false;
    box.scrollIntoView();
  }

  function onSubmit(e) {
    var form = e.target, btn = $("#save-btn"), st = $("#save-status");
    e.preventDefault();
    btn.disabled = true;
    st.textContent = T("log.saving");
    busy.then(function () {
      var body = toBody(form);
      var rec = { id: body.id, kind: body.kind, label: label(form), body: body, photos: photos.map(function (p) { return p.blob; }),
                  sha: photos.map(function (p) { return p.sha; }) };
      return Q.add(rec).then(function () {
        st.textContent = T(navigator.onLine ? "log.saved_sending" : "log.saved_offline");
        if (!navigator.onLine) return null;
        // Wait for the event's answer only (a fresh entry refused is shown here), never for its photos:
        // the service worker sends them while the next page opens.
        var answer = Q.answer(rec.id, 8000);
        Q.flush();
        return answer;
      }).then(function () { return Q.get(rec.id); }).then(function (left) {
        if (left && left.state === "needs_action" && left.status === 422 && !left.eventAck) {
          Q.leave(false);
          return Q.remove(rec.id).then(function () {
            btn.disabled = false;
            st.textContent = "";
            showErrors(form, left.detail || left.error);
          });
        }
        goToLog(rec.id);
      });
    }).catch(function () {
      // The phone could not keep the entry (storage full, private window): post it the ordinary way.
      if (!navigator.onLine) {
        btn.disabled = false;
        st.textContent = T("log.cannot_keep");
        return;
      }
      try {
        var dt = new DataTransfer();
        photos.forEach(function (p, i) { dt.items.add(new File([p.blob], "photo-" + (i + 1) + ".jpg", { type: "image/jpeg" })); });
        $("#photos").files = dt.files;
      } catch (err) { /* old browser: the event is still saved, without its photos */ }
      form.submit();
    });
  }

  function setupForm(form) {
    var occ = form.elements.occurred_at, camp = $("#campaign_id");
    // A page opened from the offline cache carries the time it was cached: use the phone's clock.
    if (occ && occ.dataset.default) occ.value = localInput(new Date());
    if (camp) {
      var toggle = function () { $("#new-campaign").hidden = camp.value !== "new"; };
      camp.addEventListener("change", toggle);
      toggle();
    }
    $("#photos").addEventListener("change", onPhotos);
    $("#q").addEventListener("input", filter);
    // The list is all on the page: searching filters it in place instead of reloading the form.
    $("#search-form").addEventListener("submit", function (e) { e.preventDefault(); filter(); });
    form.addEventListener("change", function (e) {
      var t = e.target, opt = t.name === "notice_event_id" && t.options[t.selectedIndex];
      // Reviewing a notice: its site is the subject.
      var radio = opt && opt.dataset.subject && $('[name="subject"][value="' + opt.dataset.subject + '"]', form);
      if (radio) radio.checked = true;
      if (t.name === "subject" || radio) checkDistance();
    });
    form.addEventListener("submit", onSubmit);
    presetNotice(form);
    locateWhenAllowed(form);
  }

  // The position is asked for on load only where the phone already allows it; otherwise at the inspector's first
  // tap on the form, so the permission prompt answers something they did (no prompt on page load).
  function locateWhenAllowed(form) {
    function once() {
      form.removeEventListener("click", once, true);
      form.removeEventListener("keydown", once, true);
      locate(form);
    }
    function onTap() {
      form.addEventListener("click", once, true);
      form.addEventListener("keydown", once, true);
    }
    if (!navigator.permissions || !navigator.permissions.query) return locate(form);
    navigator.permissions.query({ name: "geolocation" }).then(function (p) {
      if (p.state === "granted") locate(form); else onTap();
    }, onTap);
  }

  // ?notice=<id> (去复查) on a copy from the offline cache: choose it, if the form offers it.
  function presetNotice(form) {
    var id = new URLSearchParams(location.search).get("notice"), sel = form.elements.notice_event_id;
    if (!id || !sel || sel.value || !sel.querySelector('option[value="' + CSS.escape(id) + '"]')) return;
    sel.value = id;
    sel.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // To /log: the photos are the service worker's to send and go on meanwhile (without a worker, the next page
  // resumes them from where the server's bytes end).
  function goToLog(id) {
    Q.leave();
    location.href = "/log?saved=" + encodeURIComponent(id);
  }

  function setupPage() {
    var form = $("#log-form"), btn = $("#send-now"), exp = $("#queue-export"), imp = $("#queue-import");
    if (form) setupForm(form);
    if (btn) btn.addEventListener("click", sendNow);
    if (exp) exp.addEventListener("click", exportQueue);
    if (imp) imp.addEventListener("change", importQueue);
    if (navigator.storage && navigator.storage.persisted) navigator.storage.persisted().then(showPersistence);
    render();
  }

  document.addEventListener("fieldlog:queue", render);
  document.addEventListener("fieldlog:sent", sent);
  document.addEventListener("fieldlog:persist", function (e) { showPersistence(e.detail); });
  document.addEventListener("DOMContentLoaded", setupPage);
})();
