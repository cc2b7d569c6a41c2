// Phone logging pages: the entry form goes through the offline queue (queue.js), photos are shrunk
// on the phone, GPS fills the hidden fields and reorders the subject list, the queue is listed.
// Queue states of an entry (IndexedDB record, see queue.js):
//   pending       kept on the phone, not yet acknowledged; sent on page load, on `online`, every 30 s
//                 and by 立即发送 (eventAck = true: the event is stored, some photos still to send)
//   needs_action  需处理: the server refused it (409/422); kept, with the server's message, until the
//                 inspector discards it explicitly
//   auth          the session expired (401/403): kept until the inspector logs in again
// An entry leaves the queue only after the event and every photo were acknowledged (201/200).
(function () {
  var Q = window.fieldlogQueue;
  if (!Q || !window.indexedDB) return;
  var LONG_SIDE = 1600, QUALITY = 0.85;
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
  var STATE = { pending: "待发送", needs_action: "需处理", auth: "需重新登录" };

  function render() {
    Q.all().then(function (rows) {
      rows = rows.filter(function (r) { return r.user === Q.user; });
      each(".queue-count", function (el) { el.textContent = rows.length; });
      each(".queue-bar", function (el) { el.hidden = !rows.length; });
      var list = $("#queue-list");
      if (!list) return;
      $("#queue").hidden = false;
      list.textContent = "";
      if (!rows.length) list.appendChild(h("li", "muted", "没有待发送的记录。"));
      rows.forEach(function (r) {
        var li = h("li", "q-" + r.state);
        li.appendChild(h("b", null, r.label));
        var state = r.state === "pending" && r.eventAck ? "照片待发送" : STATE[r.state];
        li.appendChild(h("span", "badge " + (r.state === "pending" ? "amber" : "red"), state));
        li.appendChild(h("div", "muted", "记于 " + hhmm(r.createdAt) + (r.photos.length ? " · " + r.photos.length + " 张照片" : "")));
        if (r.error) li.appendChild(h("p", r.state === "pending" ? "muted" : "error", r.error));
        if (r.state === "auth") {
          var a = h("a", "button", "重新登录");
          a.href = "/login?next=/log";
          li.appendChild(a);
        }
        if (r.state === "needs_action") {
          li.appendChild(h("p", "muted", r.eventAck ? "记录已保存，但有照片未能保存；放弃只丢弃这些照片。"
                                                    : "服务器没有保存这条记录。请核对后放弃，需要时重新记录一条。"));
          var b = h("button", "danger", "放弃这条记录");
          b.type = "button";
          b.onclick = function () {
            var what = r.eventAck ? "“" + r.label + "”未能保存的照片" : "“" + r.label + "”";
            if (confirm("确定放弃" + what + "？放弃后不会再发送到服务器。")) Q.remove(r.id);
          };
          li.appendChild(b);
        }
        list.appendChild(li);
      });
      var saved = new URLSearchParams(location.search).get("saved"), note = $("#saved-local");
      var mine = rows.filter(function (r) { return r.id === saved; })[0];
      if (note && saved && !$("#saved-server")) {
        if (mine) note.textContent = "已保存在手机上：" + mine.label + (mine.state === "pending" ? "。有网络时自动发送。" : "。");
        else if (!note.hidden) note.textContent = "已发送到服务器。";
        note.hidden = !mine && note.hidden;
      }
    });
  }

  function sent(e) {
    var r = e.detail, box = $("#sent-notes");
    if (box) {
      var p = h("p", "ok", "已发送：" + r.label);
      box.appendChild(p);
      (r.warnings || []).forEach(function (w) { box.appendChild(h("p", "warning", "提示：" + w)); });
    }
    if ($("#today") && window.htmx) htmx.ajax("GET", "/log", { target: "#today", swap: "innerHTML" });
  }

  function sendNow() {
    var st = $("#queue-status");
    if (!navigator.onLine) { st.textContent = "没有网络，恢复后会自动发送。"; return; }
    st.textContent = "正在发送…";
    Q.flush().then(function (o) {
      st.textContent = o === "offline" ? "暂时连不上服务器，稍后自动重发。" : o === "auth" ? "登录已过期，请重新登录。" : "";
    });
  }

  // --- photos: shrunk on the phone before they are queued -------------------------------------
  function decode(file) {
    if (window.createImageBitmap) return createImageBitmap(file, { imageOrientation: "from-image" });
    return new Promise(function (ok, bad) {
      var img = new Image();
      img.onload = function () { ok(img); };
      img.onerror = bad;
      img.src = URL.createObjectURL(file);
    });
  }

  function shrink(file) {
    return decode(file).then(function (img) {
      var s = Math.min(1, LONG_SIDE / Math.max(img.width, img.height)), c = document.createElement("canvas");
      c.width = Math.round(img.width * s);
      c.height = Math.round(img.height * s);
      c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
      return new Promise(function (ok) { c.toBlob(function (b) { ok(b || file); }, "image/jpeg", QUALITY); });
    }).catch(function () { return file; }); // cannot decode here (e.g. HEIC): the server decides
  }

  function addPhoto(blob) {
    var item = { blob: blob, url: URL.createObjectURL(blob) }, li = h("li"), img = h("img"), del = h("button", null, "×");
    img.src = item.url;
    img.alt = "照片 " + (photos.length + 1);
    del.type = "button";
    del.setAttribute("aria-label", "删除这张照片");
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
    files.forEach(function (f) { busy = busy.then(function () { return shrink(f).then(addPhoto); }); });
  }

  // --- position and the subject list ----------------------------------------------------------
  function metres(a, b) {
    var r = Math.PI / 180, dl = (b.lon - a.lon) * r, p1 = a.lat * r, p2 = b.lat * r;
    var x = Math.sin((p2 - p1) / 2), y = Math.sin(dl / 2);
    return 12742000 * Math.asin(Math.sqrt(x * x + Math.cos(p1) * Math.cos(p2) * y * y));
  }
  function dist(m) { return m < 1000 ? Math.round(m) + " 米" : (m / 1000).toFixed(1) + " 公里"; }
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
    if (!navigator.onLine || !window.htmx) { sortHere(); return; }
    var url = box.dataset.url + "?lat=" + here.lat + "&lon=" + here.lon + "&q=" + encodeURIComponent(q ? q.value : "") +
      "&subject=" + encodeURIComponent(picked ? picked.value : "");
    htmx.ajax("GET", url, { target: box, swap: "innerHTML" }).then(filter, sortHere);
  }

  function locate(form) {
    var st = $("#geo-status");
    if (!navigator.geolocation) { st.textContent = "此手机不能定位，按最近记录排序。"; return; }
    st.textContent = "正在定位…";
    navigator.geolocation.getCurrentPosition(function (p) {
      var c = p.coords, acc = Math.round(c.accuracy);
      here = { lat: +c.latitude.toFixed(6), lon: +c.longitude.toFixed(6) };
      form.elements.lat.value = here.lat;
      form.elements.lon.value = here.lon;
      form.elements.accuracy_m.value = acc;
      st.textContent = acc > 50 ? "定位精度较差（约 " + acc + " 米），按距离排序仅供参考" : "已定位（精度约 " + acc + " 米），按距离排序";
      st.className = acc > 50 ? "warning" : "muted";
      refreshSubjects();
    }, function (err) {
      st.textContent = (err.code === 1 ? "未允许定位" : "暂时无法定位") + "，按最近记录排序。";
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
      box.appendChild(h("p", "warning", "您距所选地点约 " + dist(metres(here, at)) + "，请确认是否选对了。"));
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
    box.appendChild(h("b", null, "请修改后再保存："));
    box.appendChild(ul);
    box.hidden = false;
    box.scrollIntoView();
  }

  function onSubmit(e) {
    var form = e.target, btn = $("#save-btn"), st = $("#save-status");
    e.preventDefault();
    btn.disabled = true;
    st.textContent = "正在保存…";
    busy.then(function () {
      var body = toBody(form);
      var rec = { id: body.id, kind: body.kind, label: label(form), body: body, photos: photos.map(function (p) { return p.blob; }) };
      return Q.add(rec).then(function () {
        st.textContent = navigator.onLine ? "已保存在手机上，正在发送…" : "已保存在手机上，有网络时自动发送。";
        // On a weak signal do not keep the inspector waiting: the queue carries on from /log.
        return navigator.onLine ? Promise.race([Q.flush(), new Promise(function (ok) { setTimeout(ok, 8000); })]) : null;
      }).then(function () { return Q.get(rec.id); }).then(function (left) {
        if (left && left.state === "needs_action" && left.status === 422 && !left.eventAck) {
          return Q.remove(rec.id).then(function () {
            btn.disabled = false;
            st.textContent = "";
            showErrors(form, left.detail || left.error);
          });
        }
        location.href = "/log?saved=" + rec.id;
      });
    }).catch(function () {
      // The phone could not keep the entry (storage full, private window): post it the ordinary way.
      if (!navigator.onLine) {
        btn.disabled = false;
        st.textContent = "无法保存在手机上（存储空间不足？），请联网后再保存。";
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
    locate(form);
  }

  document.addEventListener("fieldlog:queue", render);
  document.addEventListener("fieldlog:sent", sent);
  document.addEventListener("DOMContentLoaded", function () {
    var form = $("#log-form"), btn = $("#send-now");
    if (form) setupForm(form);
    if (btn) btn.addEventListener("click", sendNow);
    render();
  });
})();
