// The search page's and the post lists' filter forms (forms marked data-drop-empty):
// with htmx they swap their results part and push the URL; this leaves the fields left
// empty out of that request, so the URL keeps only what was chosen ("?q=luna&mode=semantic",
// not "?q=luna&mode=semantic&source=&creator=&…"). Without JavaScript the forms are plain GETs.
// It also keeps the search mode's one-line description in step with the chosen mode.
(function () {
  "use strict";

  document.addEventListener("htmx:configRequest", function (event) {
    var form = event.detail.elt;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-drop-empty")) { return; }
    var parameters = event.detail.parameters;
    var names = [];
    form.querySelectorAll("[name]").forEach(function (field) {
      if (names.indexOf(field.name) < 0) { names.push(field.name); }
    });
    names.forEach(function (name) {
      var value = parameters[name];
      if (value === "" || value === undefined || value === null) { delete parameters[name]; }
    });
  });

  function showModeHint(form) {
    var hint = form.querySelector(".mode-hint");
    var chosen = form.querySelector('input[name="mode"]:checked');
    if (!hint || !chosen) { return; }
    var label = chosen.closest("label");
    var name = label ? label.textContent.trim() : chosen.value;
    hint.textContent = name + ": " + (label ? label.getAttribute("title") : "");
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target && target.name === "mode" && target.form) { showModeHint(target.form); }
  });
})();
