// My account page: what the API answers once and the page must show at that moment (the
// recovery codes when 2FA is turned on, a new API token), copying and downloading them, and
// the "new password again" check. Plain ES2017, no inline code (the CSP allows none).
(function () {
  "use strict";

  function answerOf(event) {
    try {
      return JSON.parse(event.detail.xhr.responseText);
    } catch (ignored) {
      return null;
    }
  }

  function reveal(panel) {
    panel.hidden = false;
    panel.focus();
    panel.scrollIntoView({ block: "nearest" });
  }

  // the recovery codes: shown once, right after the code that turned 2FA on
  function showRecoveryCodes(codes) {
    var panel = document.querySelector("[data-recovery-panel]");
    var list = panel && panel.querySelector("[data-recovery-list]");
    if (!list || !codes) { return; }
    list.textContent = "";
    codes.forEach(function (code) {
      var item = document.createElement("li");
      var text = document.createElement("code");
      text.textContent = code;
      item.appendChild(text);
      list.appendChild(item);
    });
    reveal(panel);
  }

  // a new API token: shown once
  function showToken(token) {
    var panel = document.querySelector("[data-token-panel]");
    var value = panel && panel.querySelector("[data-token-value]");
    if (!value || !token) { return; }
    value.textContent = token;
    reveal(panel);
  }

  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    if (!event.detail.successful || !elt || !elt.closest) { return; }
    var answer;
    if (elt.closest("[data-recovery-form]")) {
      answer = answerOf(event);
      if (answer) { showRecoveryCodes(answer.recovery_codes); }
    } else if (elt.closest("[data-token-form]")) {
      answer = answerOf(event);
      if (answer) { showToken(answer.token); }
    }
  });

  function textOf(selector) {
    var source = document.querySelector(selector);
    if (!source) { return ""; }
    var items = source.querySelectorAll("li");
    if (items.length) {
      return Array.prototype.map.call(items, function (item) {
        return item.textContent.trim();
      }).join("\n") + "\n";
    }
    return source.textContent.trim();
  }

  function selectText(selector) {
    var source = document.querySelector(selector);
    if (!source || !window.getSelection) { return; }
    var range = document.createRange();
    range.selectNodeContents(source);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function copy(button) {
    var selector = button.getAttribute("data-copy-from");
    var text = textOf(selector);
    var done = function () {
      window.alejandria.toast(button.getAttribute("data-copied") || "Copied");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { selectText(selector); });
      return;
    }
    // plain http on a home network: no clipboard API; select the text to copy by hand
    selectText(selector);
    try {
      if (document.execCommand("copy")) { done(); }
    } catch (ignored) { /* the text stays selected */ }
  }

  function download(button) {
    var text = textOf(button.getAttribute("data-download-from"));
    var blob = new Blob([text], { type: "text/plain;charset=utf-8" });
    var url = URL.createObjectURL(blob);
    var link = document.createElement("a");
    link.href = url;
    link.download = button.getAttribute("data-filename") || "codes.txt";
    document.body.appendChild(link);
    link.click();
    link.remove();
    window.setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  }

  function dismiss(button) {
    var panel = document.querySelector(button.getAttribute("data-dismiss"));
    if (!panel) { return; }
    panel.hidden = true;
    // the secret leaves the page with the panel
    panel.querySelectorAll("[data-recovery-list], [data-token-value]").forEach(function (part) {
      part.textContent = "";
    });
    var heading = panel.parentElement && panel.parentElement.querySelector("h2");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus();
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button");
    if (!button) { return; }
    if (button.hasAttribute("data-copy-from")) { copy(button); }
    else if (button.hasAttribute("data-download-from")) { download(button); }
    else if (button.hasAttribute("data-dismiss")) { dismiss(button); }
  });

  // "new password, again": the form is not sent while the two differ
  document.addEventListener("input", function (event) {
    var field = event.target;
    var again = field.hasAttribute && field.hasAttribute("data-same-as") ? field
      : field.id && document.querySelector('[data-same-as="' + field.id + '"]');
    if (!again) { return; }
    var first = document.getElementById(again.getAttribute("data-same-as"));
    var differs = first && again.value && first.value !== again.value;
    again.setCustomValidity(differs ? again.getAttribute("data-mismatch") || "≠" : "");
  });
})();
