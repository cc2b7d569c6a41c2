// A form's own checks, said in Chinese beside each field before it is sent (the logging and the edit form).
// The form carries its checks as data (data-checks, events.validation.client_checks): the server's own
// messages for required, min, max and type, the conditional requirements (with / without / unless), the
// dates that may not come before another ("before") and the agreements across fields ("agree").
// The browser's constraint API decides what is wrong; conditional and cross-field checks become its custom
// validity, so the form is refused before submit exactly when the server would refuse it.
(function () {
  function each(list, fn) { Array.prototype.forEach.call(list, fn); }

  function value(form, name) {
    var el = form.elements[name];
    if (!el) return "";
    if (el.length !== undefined && !el.tagName) { // radios: the checked one
      var found = "";
      each(el, function (r) { if (r.checked) found = r.value; });
      return found;
    }
    if (el.type === "checkbox") return el.checked ? el.value : "";
    return el.value.trim();
  }

  function controls(form, name) {
    var el = form.elements[name];
    return !el ? [] : (el.length !== undefined && !el.tagName ? Array.prototype.slice.call(el) : [el]);
  }

  // The message of a conditional or cross-field rule that fails for this field, or "".
  function ruleMessage(form, checks, name) {
    var c = checks.fields[name] || {}, v = value(form, name), other;
    if (!v) {
      if (c["with"] && value(form, c["with"][0])) return c["with"][1];
      if (c.without && !value(form, c.without[0])) return c.without[1];
      if (c.unless) {
        other = value(form, c.unless[0]);
        if (other && other !== c.unless[1]) return c.unless[2][other] || c.required;
      }
      return "";
    }
    if (c.before) {
      other = c.before[0] === "occurred_on" ? value(form, "occurred_at").slice(0, 10) : value(form, c.before[0]);
      if (other && v < other) return c.before[1];
    }
    var found = "";
    each(checks.agree, function (a) {
      if (found || a.field !== name || value(form, a.when) !== a.is) return;
      var n = Number(v === "" ? a["default"] : v);
      if ((a.min !== null && n < a.min) || (a.max !== null && n > a.max)) found = a.msg;
    });
    return found;
  }

  // The agreements also hold for a count left at its default (blank): the server fills the default in.
  function refresh(form, checks) {
    Object.keys(checks.fields).forEach(function (name) {
      var msg = ruleMessage(form, checks, name);
      if (!msg) each(checks.agree, function (a) {
        if (!msg && a.field === name && value(form, name) === "" && value(form, a.when) === a.is && a["default"] !== null) {
          if ((a.min !== null && a["default"] < a.min) || (a.max !== null && a["default"] > a.max)) msg = a.msg;
        }
      });
      controls(form, name).forEach(function (el) { el.setCustomValidity(msg); });
    });
  }

  function message(el, checks) {
    var c = checks.fields[el.name] || {}, v = el.validity;
    if (v.customError) return el.validationMessage;
    if (v.valueMissing) return c.required || el.validationMessage;
    if (v.rangeUnderflow) return c.min || c.type;
    if (v.rangeOverflow) return c.max || c.type;
    if (v.badInput || v.stepMismatch || v.typeMismatch || v.patternMismatch) return c.type || el.validationMessage;
    return el.validationMessage;
  }

  // The field's own box: its .fld, else its fieldset or label (the edit form's shared fields).
  function box(el) { return el.closest(".fld") || el.closest("fieldset") || el.closest("label") || el.parentNode; }

  function show(el, text) {
    var at = box(el), span = at.querySelector(".field-error.check");
    at.querySelectorAll(".field-error:not(.check)").forEach(function (s) { s.hidden = !!text; });
    if (!text) { if (span) span.remove(); controls(el.form, el.name).forEach(function (c) { c.removeAttribute("aria-invalid"); }); return; }
    if (!span) {
      span = document.createElement("span");
      span.className = "field-error check";
      span.id = "check-" + el.name;
      span.setAttribute("role", "alert");
      at.appendChild(span);
    }
    span.textContent = text;
    controls(el.form, el.name).forEach(function (c) {
      c.setAttribute("aria-invalid", "true");
      c.setAttribute("aria-describedby", span.id);
    });
  }

  function setup(form) {
    var checks = JSON.parse(form.dataset.checks), first = null;
    refresh(form, checks);
    // The browser's own check (on submit) fires `invalid` on each wrong field: say it beside the field instead
    // of the bubble, and bring the first one into view.
    form.addEventListener("invalid", function (e) {
      e.preventDefault();
      show(e.target, message(e.target, checks));
      if (!first) {
        first = e.target;
        setTimeout(function () { first.focus(); first.scrollIntoView({ block: "center" }); first = null; }, 0);
      }
    }, true);
    // While a field is being corrected (`input`, which radios and selects fire too) the rules are re-judged
    // and a message already shown follows; no new message appears before submit, and none on `change`:
    // a message appearing as a field loses focus would move the save button under the finger.
    form.addEventListener("input", function () {
      refresh(form, checks);
      each(form.querySelectorAll(".field-error.check"), function (span) {
        var el = form.elements[span.id.slice(6)], c = el && (el.length !== undefined && !el.tagName ? el[0] : el);
        if (c) show(c, c.validity.valid ? "" : message(c, checks));
      });
    });
  }

  function start() { each(document.querySelectorAll("form[data-checks]"), setup); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
