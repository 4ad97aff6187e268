// My lists, notes and statuses: keep the keyboard where it was when a part of the page is
// served again. Moving a list up or down re-renders the lists; the focus goes back to the
// same button of the moved list (or its other arrow, when it reached the top or bottom).
// Picking a colour unticks "No colour". A note too long for its card fades out at the
// bottom (marked here: CSS cannot tell).
// Plain ES2017, no inline code (the CSP allows none).
(function () {
  "use strict";

  var pending = null;

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-focus-key]");
    if (button) {
      pending = { key: button.getAttribute("data-focus-key"),
                  other: button.getAttribute("data-focus-other") };
    }
  });

  // picking a colour for a list means it should have one: untick "No colour"
  document.addEventListener("input", function (event) {
    var field = event.target;
    if (field.type !== "color" || !field.form) { return; }
    var none = field.form.querySelector('input[name="clear_color"]');
    if (none) { none.checked = false; }
  });

  function markClipped(root) {
    root.querySelectorAll(".note-excerpt").forEach(function (excerpt) {
      excerpt.classList.toggle("is-clipped", excerpt.scrollHeight > excerpt.clientHeight + 2);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { markClipped(document); });

  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.elt && event.detail.elt.querySelectorAll) { markClipped(event.detail.elt); }
    if (!pending || !event.detail.elt || !event.detail.elt.querySelector) { return; }
    var root = event.detail.elt;
    var wanted = root.querySelector('[data-focus-key="' + pending.key + '"]');
    if (!wanted || wanted.disabled) {
      wanted = root.querySelector('[data-focus-key="' + pending.other + '"]');
    }
    if (wanted && !wanted.disabled) {
      wanted.focus();
      pending = null;
    }
  });
})();
