// Alejandria's pages: the small glue htmx does not do by itself. A file of our own (the CSP
// allows scripts from this origin only, no inline code, no eval).
//
// Pages only read; every change is a call to the JSON API (/api/v1). Forms and buttons say
// what happens after a successful call with data attributes:
//   data-redirect="/path"   go there            data-reload          reload the page
//   data-refresh="#a, #b"   re-fetch those parts (elements with hx-get and hx-trigger="refresh")
//   data-toast="Saved"      show a message      data-reset           empty the form
// and an error answer ({"error": {"code", "message"}}) is shown in the form's
// [data-form-error] element, or as a toast.
(function () {
  "use strict";

  var htmxApi = null;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function toast(message, kind) {
    var box = document.getElementById("toasts");
    if (!box || !message) { return; }
    var item = document.createElement("div");
    item.className = "toast" + (kind ? " " + kind : "");
    item.textContent = message;
    box.appendChild(item);
    window.setTimeout(function () { item.remove(); }, kind === "error" ? 8000 : 3500);
  }
  window.alejandriaToast = toast;

  // The JSON API wants typed JSON bodies: this extension turns a form's fields into one,
  // with numbers, booleans, lists and empty fields as the inputs declare (data-json).
  function controlFor(form, name) {
    if (!form || !form.elements) { return null; }
    var found = form.elements.namedItem(name);
    return found && found.length !== undefined && !found.tagName ? found[0] : found;
  }

  function typed(control, value) {
    var kind = control ? (control.getAttribute("data-json") || control.type) : "";
    if (kind === "number" || kind === "range") { return value === "" ? null : Number(value); }
    return value;
  }

  function encode(parameters, elt) {
    var form = elt.closest("form") || elt;
    var body = {};
    parameters.forEach(function (value, key) {
      var control = controlFor(form, key);
      var empty = control ? control.getAttribute("data-json-empty") : null;
      if (value === "" && empty === "omit") { return; }
      var item = value === "" && empty === "null" ? null : typed(control, value);
      var asList = control && control.getAttribute("data-json") === "list";
      if (Object.prototype.hasOwnProperty.call(body, key)) {
        if (!Array.isArray(body[key])) { body[key] = [body[key]]; }
        body[key].push(item);
      } else {
        body[key] = asList ? [item] : item;
      }
    });
    form.querySelectorAll && form.querySelectorAll('input[type="checkbox"][data-json="bool"]')
      .forEach(function (box) { body[box.name] = box.checked; });
    if (htmxApi) {
      var vals = htmxApi.getExpressionVars(elt);
      Object.keys(vals).forEach(function (key) { body[key] = vals[key]; });
    }
    return JSON.stringify(body);
  }

  function defineExtension() {
    window.htmx.defineExtension("alejandria-json", {
      init: function (api) { htmxApi = api; },
      onEvent: function (name, event) {
        if (name === "htmx:configRequest") {
          event.detail.headers["Content-Type"] = "application/json";
        }
      },
      encodeParameters: function (xhr, parameters, elt) {
        xhr.overrideMimeType("text/json");
        return encode(parameters, elt);
      },
    });
  }

  var translated = null;

  // the API's message for an error, or the page's own words for its code (in the page's
  // language: templates/base.html writes them into #error-messages)
  function messageFor(code, fallback) {
    if (translated === null) {
      var data = document.getElementById("error-messages");
      try { translated = data ? JSON.parse(data.textContent) : {}; } catch (ignored) {
        translated = {};
      }
    }
    return translated[code] || fallback;
  }

  function errorOf(xhr) {
    var error = null;
    try {
      var body = JSON.parse(xhr.responseText);
      if (body && body.error) { error = body.error; }
    } catch (ignored) { /* not JSON */ }
    error = error || { code: "error", message: (xhr.status || "") + " " + (xhr.statusText || "") };
    return { code: error.code, message: messageFor(error.code, error.message) };
  }

  function afterRequest(event) {
    var elt = event.detail.elt;
    var xhr = event.detail.xhr;
    var form = elt.closest("form") || elt;
    var problem = form.querySelector ? form.querySelector("[data-form-error]") : null;
    if (!event.detail.successful) {
      if (!xhr || xhr.status === 0) {
        toast(messageFor("offline", "The server did not answer."), "error");
        return;
      }
      var error = errorOf(xhr);
      if (error.code === "not_authenticated") {
        window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname +
                                                                  window.location.search));
        return;
      }
      var step = form.querySelector ? form.querySelector("[data-totp-step]") : null;
      if (step && (error.code === "totp_required" || error.code === "totp_invalid")) {
        step.hidden = false;
        var code = step.querySelector("input");
        code.disabled = false;
        code.required = true;
        code.focus();
      }
      if (problem) {
        problem.textContent = error.message;
        // asking for the 2FA code is the next step, not a mistake
        problem.classList.toggle("form-hint", error.code === "totp_required");
        problem.hidden = false;
      } else {
        toast(error.message, "error");
      }
      return;
    }
    if (problem) { problem.hidden = true; problem.textContent = ""; }
    if (!elt.closest("[data-redirect],[data-reload],[data-refresh],[data-toast],[data-reset]")) {
      return;
    }
    var source = elt.closest("[data-redirect],[data-reload],[data-refresh],[data-toast],[data-reset]");
    if (source.hasAttribute("data-toast")) { toast(source.getAttribute("data-toast")); }
    if (source.hasAttribute("data-reset") && form.reset) { form.reset(); }
    if (source.hasAttribute("data-redirect")) {
      window.location.assign(source.getAttribute("data-redirect"));
      return;
    }
    if (source.hasAttribute("data-reload")) { window.location.reload(); return; }
    if (source.hasAttribute("data-refresh")) {
      source.getAttribute("data-refresh").split(",").forEach(function (selector) {
        document.querySelectorAll(selector.trim()).forEach(function (target) {
          window.htmx.trigger(target, "refresh");
        });
      });
    }
  }

  // light / dark / the system's: stored in my preferences when signed in
  function setupTheme() {
    document.querySelectorAll("[data-theme-toggle]").forEach(function (button) {
      button.addEventListener("click", function () {
        var root = document.documentElement;
        var order = ["auto", "dark", "light"];
        var next = order[(order.indexOf(root.getAttribute("data-theme") || "auto") + 1) % 3];
        root.setAttribute("data-theme", next);
        toast(button.getAttribute("data-label-" + next) || next);
        fetch("/api/v1/me/preferences", {
          method: "PATCH", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
          body: JSON.stringify({ theme: next }),
        });
      });
    });
  }

  window.alejandria = { csrfToken: csrfToken, toast: toast, messageFor: messageFor };

  if (window.htmx) {
    defineExtension();
    document.addEventListener("htmx:afterRequest", afterRequest);
  }
  document.addEventListener("DOMContentLoaded", setupTheme);
})();
