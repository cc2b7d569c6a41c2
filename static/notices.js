// Notices (issue 14): the form's item rows, the searchable list of 重大事故隐患 criteria, and saving a notice or a
// step through the phone's queue (static/queue.js), so it is kept on the phone without a signal and sent later
// with its client id (a resend is harmless). Without this script the forms post to the server as they are.
(function () {
  "use strict";
  var Q = window.fieldlogQueue;

  function $(sel, root) { return (root || document).querySelector(sel); }
  function all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  // --- the criteria list: typing filters the options (the list is short: no request, works offline) ---------
  function filterCriteria(input) {
    var select = input.parentNode.querySelector("select");
    var words = input.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    all("option", select).forEach(function (o) {
      if (!o.value) return;
      var text = o.textContent.toLowerCase();
      o.hidden = !words.every(function (w) { return text.indexOf(w) >= 0; });
    });
    var first = all("option", select).filter(function (o) { return o.value && !o.hidden; })[0];
    if (first && words.length && (!select.value || select.selectedOptions[0].hidden)) select.value = first.value;
  }

  function showCriteria(row) {
    var major = $(".major-toggle", row);
    var box = $(".criteria", row);
    if (major && box) box.hidden = !major.checked;
  }

  function renumber() {
    all(".notice-item").forEach(function (row, i) { $(".item-no", row).textContent = i + 1; });
  }

  function addItem() {
    var rows = all(".notice-item"), last = rows[rows.length - 1], n = rows.length;
    var copy = last.cloneNode(true);
    copy.dataset.n = n;
    all("[name]", copy).forEach(function (el) {
      el.name = el.name.replace(/^items-\d+-/, "items-" + n + "-");
      if (el.type === "checkbox") el.checked = false; else el.value = "";
    });
    all(".criteria-search", copy).forEach(function (el) { el.value = ""; });
    last.parentNode.appendChild(copy);
    renumber();
    showCriteria(copy);
  }

  // --- the step form shows the fields of the chosen step -----------------------------------------------
  function showStepParts(form) {
    var chosen = (form.querySelector("input[name=step]:checked") || {}).value;
    all(".step-part", form).forEach(function (p) { p.hidden = p.dataset.steps.split(" ").indexOf(chosen) < 0; });
  }

  // --- the body of the event a form stands for ---------------------------------------------------------
  var TEXT = { notice: ["notice_type", "deadline", "legal_basis", "follows_notice_id", "follows_as"],
               notice_step: ["notice_event_id", "step", "receiver_name", "receiver_unit", "received_on", "witness", "reply_text"] };

  function value(form, name) {
    var el = form.querySelector("[name='" + name + "']:checked") || form.querySelector("[name='" + name + "']:not([type=radio])");
    return el ? String(el.value || "").trim() : "";
  }

  function collect(form) {
    var kind = form.dataset.queue, fields = {}, photos = [];
    TEXT[kind].forEach(function (k) { var v = value(form, k); if (v) fields[k] = v; });
    var body = { id: value(form, "id"), kind: kind, occurred_at: value(form, "occurred_at"), note: value(form, "note"),
                 site_id: value(form, "site_id") ? Number(value(form, "site_id")) : null,
                 inspector_ids: all("input[name=inspector_ids]:checked", form).map(function (c) { return Number(c.value); }),
                 fields: fields };
    var hashing = [];
    if (kind === "notice") {
      var items = [];
      all(".notice-item", form).forEach(function (row) {
        var item = { description: value(row, row.querySelector("textarea").name), photos: [] };
        all("[name]", row).forEach(function (el) {
          var key = el.name.replace(/^items-\d+-/, "");
          if (key === "major") item.major = el.checked;
          else if (key === "location" || key === "criterion" || key === "criterion_id") item[key] = el.value.trim();
        });
        var files = all("input[type=file]", row).reduce(function (a, el) { return a.concat(Array.prototype.slice.call(el.files || [])); }, []);
        if (!item.description && !item.location && !item.criterion && !item.major && !files.length) return;
        if (!item.major) item.criterion_id = "";
        files.forEach(function (f, j) {
          var at = photos.length;
          photos.push(f);
          // Shrunk as the logging forms shrink theirs; the item names each photo by the hash of what is sent.
          hashing.push(Q.shrink(f).then(function (b) {
            photos[at] = b;
            return Q.sha256(b).then(function (h) { item.photos[j] = h; return h; });
          }));
        });
        items.push(item);
      });
      if (items.length || fields.notice_type !== "resume") fields.items = items;
    } else {
      all("input[type=file]", form).forEach(function (el) { photos = photos.concat(Array.prototype.slice.call(el.files || [])); });
      photos.forEach(function (f, at) {
        hashing.push(Q.shrink(f).then(function (b) { photos[at] = b; return Q.sha256(b); }));
      });
    }
    return Promise.all(hashing).then(function (sha) { return { body: body, photos: photos, sha: sha }; });
  }

  // --- saving through the queue ------------------------------------------------------------------------
  function showErrors(detail) {
    var box = $("#form-errors");
    var list = Array.isArray(detail) ? detail.map(function (d) { return d.msg; }) : [String(detail || "")];
    box.textContent = "";
    var b = document.createElement("b");
    b.textContent = Q.t("notices.fix_first");
    box.appendChild(b);
    var ul = document.createElement("ul");
    list.forEach(function (m) { var li = document.createElement("li"); li.textContent = m; ul.appendChild(li); });
    box.appendChild(ul);
    box.hidden = false;
    box.scrollIntoView();
  }

  // A notice kept on the phone is shown on site as it was filled in: the form turns read-only under a heading
  // that says its number comes once it is sent (the phone page /notices/{id} exists only then).
  function showOnSite(form) {
    all("input, textarea", form).forEach(function (el) { el.readOnly = true; });
    all("select, input[type=radio], input[type=checkbox], input[type=file], button", form).forEach(function (el) {
      if (el.id !== "save-btn") el.disabled = true;
    });
    var head = document.createElement("h2");
    head.id = "notice-provisional";
    head.textContent = Q.t("notices.provisional");
    form.classList.add("notice-shown");
    form.parentNode.insertBefore(head, form);
    head.scrollIntoView();
  }

  function onSubmit(e) {
    var form = e.target;
    if (!Q || !window.indexedDB || !(window.crypto && crypto.subtle)) return; // the ordinary post
    e.preventDefault();
    var btn = $("#save-btn", form), st = $("#save-status");
    btn.disabled = true;
    st.textContent = Q.t("notices.saving");
    collect(form).then(function (got) {
      var rec = { id: got.body.id, kind: got.body.kind, label: form.dataset.label, body: got.body, photos: got.photos, sha: got.sha };
      return Q.add(rec).then(function () {
        if (!navigator.onLine) return "offline";
        var wait = Q.answer(rec.id, 8000);
        Q.flush();
        return wait;
      }).then(function (outcome) {
        return Q.get(rec.id).then(function (left) {
          if (left && left.state === "needs_action" && !left.eventAck) {
            return Q.remove(rec.id).then(function () { btn.disabled = false; st.textContent = ""; showErrors(left.detail || left.error); });
          }
          if (outcome === "ok" || (!left && outcome !== "offline")) {
            st.textContent = Q.t("notices.saved");
            var next = form.dataset.next;
            window.location.href = next.charAt(next.length - 1) === "/" ? next + rec.id : next;
            return null;
          }
          // Kept on the phone: it goes when the connection returns (the number comes with the server's answer).
          st.textContent = Q.t("notices.saved_offline");
          form.dataset.saved = rec.id;
          btn.hidden = true;
          showOnSite(form);
          return null;
        });
      });
    }).catch(function () {
      btn.disabled = false;
      st.textContent = "";
      form.submit();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    all(".criteria-search").forEach(function (input) {
      input.addEventListener("input", function () { filterCriteria(input); });
    });
    var items = $("#items");
    if (items) {
      items.addEventListener("change", function (e) {
        if (e.target.classList.contains("major-toggle")) showCriteria(e.target.closest(".notice-item"));
      });
      items.addEventListener("input", function (e) {
        if (e.target.classList.contains("criteria-search")) filterCriteria(e.target);
      });
      all(".notice-item").forEach(showCriteria);
      var add = $("#add-item");
      add.hidden = false;
      add.addEventListener("click", addItem);
    }
    var basis = $("#legal-basis");
    all("input[name=notice_type]").forEach(function (r) {
      r.addEventListener("change", function () {
        var defaults = all("input[name=notice_type]").map(function (x) { return x.dataset.basis; });
        if (basis && (!basis.value.trim() || defaults.indexOf(basis.value.trim()) >= 0)) basis.value = r.dataset.basis;
      });
    });
    var step = $("#step-form");
    if (step) {
      showStepParts(step);
      step.addEventListener("change", function (e) { if (e.target.name === "step") showStepParts(step); });
    }
    all("form[data-queue]").forEach(function (f) {
      // A fresh id each time the page is shown: the service worker serves the same cached form again and again.
      if (Q && !f.querySelector(".field-error")) f.querySelector("input[name=id]").value = Q.uuid();
      f.addEventListener("submit", onSubmit);
    });
  });
})();
