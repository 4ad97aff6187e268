// The admin pages' glue (see app.js for the shared part): the credential form's body, and
// the jobs table's polling paused while the tab is hidden.
(function () {
  "use strict";

  // PUT /api/v1/sources/{name}/credentials wants {"account": "...", "secrets": {...}}: the
  // fields marked data-secret go under "secrets" (empty ones left out), the rest at the top.
  function credentialsBody(parameters, elt) {
    var form = elt.closest("form") || elt;
    var body = { secrets: {} };
    parameters.forEach(function (value, key) {
      var control = form.elements ? form.elements.namedItem(key) : null;
      if (control && control.hasAttribute && control.hasAttribute("data-secret")) {
        if (value !== "") { body.secrets[key] = value; }
      } else {
        body[key] = value;
      }
    });
    return JSON.stringify(body);
  }

  if (window.htmx) {
    window.htmx.defineExtension("admin-credentials", {
      onEvent: function (name, event) {
        if (name === "htmx:configRequest") {
          event.detail.headers["Content-Type"] = "application/json";
        }
      },
      encodeParameters: function (xhr, parameters, elt) {
        xhr.overrideMimeType("text/json");
        return credentialsBody(parameters, elt);
      },
    });
  }

  // Parts that poll (data-poll, hx-trigger="every …") skip their requests while the tab is
  // hidden, and catch up at once when it is shown again.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (document.hidden && elt && elt.hasAttribute && elt.hasAttribute("data-poll")) {
      event.preventDefault();
    }
  });
  document.addEventListener("visibilitychange", function () {
    if (document.hidden || !window.htmx) { return; }
    document.querySelectorAll("[data-poll]").forEach(function (part) {
      window.htmx.trigger(part, "refresh");
    });
  });
})();
