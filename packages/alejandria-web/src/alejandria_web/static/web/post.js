// The post page: transcripts that follow their player, ?t=SECONDS, the image lightbox, my lists
// and my highlights. Plain ES2017, no library but htmx; every change is a call to the JSON API.
//
// Highlights: a highlight is anchored in a text (the post's content_text, one page's text, or a
// transcript's segments joined with "\n") by offsets and by quote with some context. The page
// marks those texts: [data-hl-root] (data-hl-target text|page|transcript) around each, and
// [data-hl-at="N"] on each element whose text starts at offset N. A root in data-hl-mode="html"
// shows sanitised HTML, whose text differs from content_text in its whitespace: there a quote
// is found by its characters other than whitespace (and its context), both ways.
(function () {
  "use strict";

  var CONTEXT = 32;

  function toast(message, kind) {
    if (window.alejandria && window.alejandria.toast) { window.alejandria.toast(message, kind); }
  }

  function api(method, url, body) {
    var headers = { "Accept": "application/json" };
    if (window.alejandria) { headers["X-CSRF-Token"] = window.alejandria.csrfToken(); }
    var options = { method: method, credentials: "same-origin", headers: headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (answer) {
      if (answer.ok) { return answer.status === 204 ? null : answer.json(); }
      if (answer.status === 401) {
        window.location.assign("/login?next=" + encodeURIComponent(
          window.location.pathname + window.location.search));
      }
      return answer.json().catch(function () { return {}; }).then(function (found) {
        var error = (found && found.error) || {};
        var fallback = error.message || answer.status + " " + answer.statusText;
        // the page's language for errors with a fixed meaning (app.js's messages)
        throw new Error(window.alejandria && window.alejandria.messageFor
          ? window.alejandria.messageFor(error.code, fallback) : fallback);
      });
    });
  }

  function refresh(selector) {
    var target = document.querySelector(selector);
    if (target && window.htmx) { window.htmx.trigger(target, "refresh"); }
  }

  // -- players and transcripts ---------------------------------------------------------------

  function playerFor(mediaId) {
    return document.getElementById("player-" + mediaId);
  }

  function playFrom(player, seconds) {
    player.currentTime = seconds;
    var started = player.play();
    if (started && started.catch) { started.catch(function () { /* the user presses play */ }); }
  }

  function setupTranscript(list) {
    var player = playerFor(list.getAttribute("data-transcript-for"));
    if (!player) { return; }
    var lines = Array.prototype.slice.call(list.querySelectorAll("li.line"));
    var starts = lines.map(function (line) { return Number(line.getAttribute("data-start")); });
    var current = -1;

    function lineAt(seconds) {
      var low = 0;
      var high = starts.length - 1;
      var found = -1;
      while (low <= high) {
        var middle = (low + high) >> 1;
        if (starts[middle] <= seconds + 0.05) { found = middle; low = middle + 1; }
        else { high = middle - 1; }
      }
      return found;
    }

    function follow() {
      var index = lineAt(player.currentTime);
      if (index === current) { return; }
      if (current >= 0) {
        lines[current].classList.remove("current");
        lines[current].removeAttribute("aria-current");
      }
      current = index;
      if (index < 0) { return; }
      var line = lines[index];
      line.classList.add("current");
      line.setAttribute("aria-current", "true");
      // scroll the transcript itself, never the page under the reader
      var top = line.offsetTop;
      var bottom = top + line.offsetHeight;
      if (top < list.scrollTop || bottom > list.scrollTop + list.clientHeight) {
        list.scrollTop = Math.max(0, top - list.clientHeight / 3);
      }
    }

    player.addEventListener("timeupdate", follow);
    player.addEventListener("seeked", follow);
    list.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-seek]");
      var line = event.target.closest("li.line");
      if (!line) { return; }
      var selection = window.getSelection();
      if (!button && selection && !selection.isCollapsed) { return; }  // selecting words
      var seconds = Number((button || line.querySelector("button[data-seek]"))
        .getAttribute("data-seek"));
      playFrom(player, seconds);
    });
    follow();
  }

  // ?t=SECONDS (and &media=ID when the post has several players): open the player there
  function startAtTime() {
    var params = new URLSearchParams(window.location.search);
    var seconds = Number(params.get("t"));
    if (!params.has("t") || !isFinite(seconds) || seconds < 0) { return; }
    var mediaId = params.get("media");
    var player = mediaId ? playerFor(mediaId) : document.querySelector(".media-player");
    if (!player) { return; }
    function seek() { player.currentTime = seconds; }
    if (player.readyState >= 1) { seek(); }
    else { player.addEventListener("loadedmetadata", seek, { once: true }); }
    if (player.preload === "none") { player.preload = "metadata"; }
    var block = player.closest(".player-block") || player;
    block.scrollIntoView({ block: "start" });
  }

  // -- images ---------------------------------------------------------------------------------

  function setupLightbox() {
    var dialog = document.getElementById("lightbox");
    var links = Array.prototype.slice.call(document.querySelectorAll("a[data-lightbox]"));
    if (!dialog || !links.length || typeof dialog.showModal !== "function") { return; }
    var image = document.getElementById("lightbox-image");
    var caption = document.getElementById("lightbox-caption");
    var open = document.getElementById("lightbox-open");
    var at = 0;

    function show(index) {
      at = (index + links.length) % links.length;
      var link = links[at];
      var thumbnail = link.querySelector("img");
      image.src = link.href;
      image.alt = thumbnail ? thumbnail.alt : "";
      caption.textContent = link.getAttribute("data-caption") || "";
      open.href = link.href;
      dialog.querySelectorAll("[data-lightbox-prev], [data-lightbox-next]").forEach(function (b) {
        b.hidden = links.length < 2;
      });
      if (!dialog.open) { dialog.showModal(); }
    }

    links.forEach(function (link, index) {
      link.addEventListener("click", function (event) {
        if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey ||
            event.altKey) { return; }
        event.preventDefault();
        show(index);
      });
    });
    dialog.querySelector("[data-lightbox-prev]").addEventListener("click", function () {
      show(at - 1);
    });
    dialog.querySelector("[data-lightbox-next]").addEventListener("click", function () {
      show(at + 1);
    });
    dialog.querySelector("[data-lightbox-close]").addEventListener("click", function () {
      dialog.close();
    });
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) { dialog.close(); }  // the backdrop
    });
    dialog.addEventListener("keydown", function (event) {
      if (event.key === "ArrowLeft") { show(at - 1); }
      if (event.key === "ArrowRight") { show(at + 1); }
    });
  }

  // -- my lists --------------------------------------------------------------------------------

  function setupLists() {
    document.addEventListener("change", function (event) {
      var box = event.target.closest ? event.target.closest("[data-list-toggle]") : null;
      if (!box) { return; }
      var group = box.closest("[data-post-id]");
      var url = "/api/v1/lists/" + box.getAttribute("data-list-id") + "/posts/" +
        group.getAttribute("data-post-id");
      var added = box.checked;
      box.disabled = true;
      api(added ? "PUT" : "DELETE", url).then(function () {
        toast(group.getAttribute(added ? "data-added" : "data-removed"));
      }).catch(function (error) {
        box.checked = !added;
        toast(error.message, "error");
      }).then(function () { box.disabled = false; });
    });
    document.addEventListener("submit", function (event) {
      var form = event.target.closest ? event.target.closest("form[data-new-list]") : null;
      if (!form) { return; }
      event.preventDefault();
      var name = form.elements.namedItem("name").value.trim();
      var problem = form.querySelector("[data-form-error]");
      if (!name) { return; }
      var postId = form.getAttribute("data-post-id");
      api("POST", "/api/v1/lists", { name: name }).then(function (made) {
        return api("PUT", "/api/v1/lists/" + made.id + "/posts/" + postId);
      }).then(function () {
        toast(form.getAttribute("data-added"));
        refresh("#post-lists");
      }).catch(function (error) {
        problem.textContent = error.message;
        problem.hidden = false;
      });
    });
  }

  // -- highlights: texts, offsets and quotes ---------------------------------------------------

  function textNodes(element) {
    var found = [];
    var walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    for (var node = walker.nextNode(); node; node = walker.nextNode()) { found.push(node); }
    return found;
  }

  function pieces(root) {
    return Array.prototype.slice.call(root.querySelectorAll("[data-hl-at]"));
  }

  function pieceAt(piece) { return Number(piece.getAttribute("data-hl-at")); }

  // the text an anchored root shows, as its highlights' offsets count it
  function anchoredText(root) {
    var text = "";
    pieces(root).forEach(function (piece) {
      var at = pieceAt(piece);
      while (text.length < at) { text += "\n"; }
      text += piece.textContent;
    });
    return text;
  }

  // [{node, from, to}] of the text nodes an anchored range [start, end) covers
  function anchoredSpans(root, start, end) {
    var spans = [];
    pieces(root).forEach(function (piece) {
      var position = pieceAt(piece);
      textNodes(piece).forEach(function (node) {
        var from = Math.max(start, position);
        var to = Math.min(end, position + node.data.length);
        if (from < to) { spans.push({ node: node, from: from - position, to: to - position }); }
        position += node.data.length;
      });
    });
    return spans;
  }

  // a text without its whitespace, and where each of its characters was in the text
  function squeeze(text) {
    var chars = [];
    var where = [];
    for (var i = 0; i < text.length; i++) {
      if (!/\s/.test(text[i])) { chars.push(text[i]); where.push(i); }
    }
    return { text: chars.join(""), where: where };
  }

  function commonSuffix(a, b) {
    var n = 0;
    while (n < a.length && n < b.length && a[a.length - 1 - n] === b[b.length - 1 - n]) { n++; }
    return n;
  }

  function commonPrefix(a, b) {
    var n = 0;
    while (n < a.length && n < b.length && a[n] === b[n]) { n++; }
    return n;
  }

  // where `quote` is in `text`, whitespace aside, best matching the context; [start, end) of
  // `text`, or null
  function findLoosely(text, quote, prefix, suffix) {
    var haystack = squeeze(text);
    var needle = squeeze(quote).text;
    if (!needle) { return null; }
    var before = squeeze(prefix || "").text;
    var after = squeeze(suffix || "").text;
    var best = null;
    var bestScore = -1;
    var tries = 0;
    for (var at = haystack.text.indexOf(needle); at >= 0 && tries < 1000;
         at = haystack.text.indexOf(needle, at + 1), tries++) {
      var end = at + needle.length;
      var score = commonSuffix(haystack.text.slice(Math.max(0, at - before.length), at), before) +
        commonPrefix(haystack.text.slice(end, end + after.length), after);
      if (score > bestScore) { best = at; bestScore = score; }
    }
    if (best === null) { return null; }
    return { start: haystack.where[best], end: haystack.where[best + needle.length - 1] + 1 };
  }

  // the text of an HTML root, and the text node holding each of its characters
  function flatText(root) {
    var nodes = textNodes(root);
    var starts = [];
    var text = "";
    nodes.forEach(function (node) { starts.push(text.length); text += node.data; });
    return { text: text, nodes: nodes, starts: starts };
  }

  function flatSpans(flat, start, end) {
    var spans = [];
    flat.nodes.forEach(function (node, index) {
      var position = flat.starts[index];
      var from = Math.max(start, position);
      var to = Math.min(end, position + node.data.length);
      if (from < to) { spans.push({ node: node, from: from - position, to: to - position }); }
    });
    return spans;
  }

  function offsetIn(element, container, offset) {
    var range = document.createRange();
    range.setStart(element, 0);
    range.setEnd(container, offset);
    return range.toString().length;
  }

  function rootOf(node) {
    var element = node.nodeType === 1 ? node : node.parentElement;
    return element ? element.closest("[data-hl-root]") : null;
  }

  function isHtml(root) { return root.getAttribute("data-hl-mode") === "html"; }

  // -- highlights: drawing -------------------------------------------------------------------

  function clearMarks() {
    document.querySelectorAll("mark.hl").forEach(function (mark) {
      var parent = mark.parentNode;
      while (mark.firstChild) { parent.insertBefore(mark.firstChild, mark); }
      parent.removeChild(mark);
      parent.normalize();
    });
  }

  function wrap(spans, highlight) {
    var first = true;
    spans.forEach(function (span) {
      var node = span.node;
      if (!node.data.slice(span.from, span.to).trim()) { return; }  // whitespace between blocks
      if (span.to < node.data.length) { node.splitText(span.to); }
      var inner = span.from > 0 ? node.splitText(span.from) : node;
      var mark = document.createElement("mark");
      mark.className = "hl";
      mark.setAttribute("data-hl-id", String(highlight.id));
      if (highlight.comment) { mark.title = highlight.comment; }
      if (first) { mark.id = "hl-" + highlight.id; first = false; }
      inner.parentNode.insertBefore(mark, inner);
      mark.appendChild(inner);
    });
  }

  function rootFor(highlight) {
    var selector = '[data-hl-root][data-hl-target="' + highlight.target + '"]';
    if (highlight.target === "page") { selector += '[data-hl-page="' + highlight.page + '"]'; }
    if (highlight.target === "transcript") {
      selector += '[data-hl-media="' + highlight.media_id + '"]';
    }
    return document.querySelector(selector);
  }

  function draw(highlight) {
    var root = rootFor(highlight);
    if (!root || highlight.orphaned) { return; }
    if (!isHtml(root)) {
      if (anchoredText(root).slice(highlight.start, highlight.end) === highlight.quote) {
        wrap(anchoredSpans(root, highlight.start, highlight.end), highlight);
        return;
      }
      var anchored = findLoosely(anchoredText(root), highlight.quote, highlight.prefix,
                                 highlight.suffix);
      if (anchored) { wrap(anchoredSpans(root, anchored.start, anchored.end), highlight); }
      return;
    }
    var flat = flatText(root);
    var found = findLoosely(flat.text, highlight.quote, highlight.prefix, highlight.suffix);
    if (found) { wrap(flatSpans(flat, found.start, found.end), highlight); }
  }

  function drawHighlights() {
    var data = document.getElementById("highlights-data");
    if (!data) { return; }
    var highlights = [];
    try { highlights = JSON.parse(data.getAttribute("data-highlights") || "[]"); }
    catch (ignored) { return; }
    clearMarks();
    highlights.forEach(draw);
  }

  // -- highlights: making one from the selection ---------------------------------------------

  var button = null;
  var chosen = null;  // {root, range} of the selection the button would highlight

  function postText() {
    var script = document.getElementById("post-text");
    return script ? JSON.parse(script.textContent) : null;
  }

  // what to send for the selection: {quote, start}, plus the target's page or media_id
  function anchorOf(root, range) {
    var body = {};
    if (root.getAttribute("data-hl-target") === "page") {
      body.page = Number(root.getAttribute("data-hl-page"));
    }
    if (root.getAttribute("data-hl-target") === "transcript") {
      body.media_id = Number(root.getAttribute("data-hl-media"));
    }
    if (isHtml(root)) {
      var model = postText();
      if (model === null) { return null; }
      var flat = flatText(root);
      var start = offsetIn(root, range.startContainer, range.startOffset);
      var end = offsetIn(root, range.endContainer, range.endOffset);
      var found = findLoosely(model, flat.text.slice(start, end),
                              flat.text.slice(Math.max(0, start - 4 * CONTEXT), start),
                              flat.text.slice(end, end + 4 * CONTEXT));
      if (!found) { return null; }
      body.quote = model.slice(found.start, found.end);
      body.start = found.start;
      return body;
    }
    var inside = pieces(root).filter(function (piece) { return range.intersectsNode(piece); });
    if (!inside.length) { return null; }
    var first = inside[0];
    var last = inside[inside.length - 1];
    var from = first.contains(range.startContainer)
      ? pieceAt(first) + offsetIn(first, range.startContainer, range.startOffset)
      : pieceAt(first);
    var to = last.contains(range.endContainer)
      ? pieceAt(last) + offsetIn(last, range.endContainer, range.endOffset)
      : pieceAt(last) + last.textContent.length;
    var text = anchoredText(root);
    while (from < to && /\s/.test(text[from])) { from++; }
    while (to > from && /\s/.test(text[to - 1])) { to--; }
    if (from >= to) { return null; }
    body.quote = text.slice(from, to);
    body.start = from;
    return body;
  }

  function currentSelection() {
    var selection = window.getSelection();
    if (!selection || selection.isCollapsed || !selection.rangeCount) { return null; }
    var range = selection.getRangeAt(0);
    if (!range.toString().trim()) { return null; }
    var root = rootOf(range.startContainer);
    if (!root) { return null; }
    if (root !== rootOf(range.endContainer)) {
      // a triple click selects up to the start of what follows: keep the part in this text
      range = range.cloneRange();
      range.setEnd(root, root.childNodes.length);
      if (!range.toString().trim()) { return null; }
    }
    return { root: root, range: range };
  }

  function placeButton() {
    chosen = currentSelection();
    if (!chosen) { button.hidden = true; return; }
    var rects = chosen.range.getClientRects();
    var box = rects.length ? rects[rects.length - 1] : chosen.range.getBoundingClientRect();
    button.hidden = false;
    var left = Math.min(box.right + window.scrollX - button.offsetWidth / 2,
                        window.scrollX + document.documentElement.clientWidth -
                        button.offsetWidth - 8);
    button.style.left = Math.max(window.scrollX + 8, left) + "px";
    button.style.top = (box.bottom + window.scrollY + 8) + "px";
  }

  function setupHighlighting() {
    button = document.getElementById("highlight-button");
    if (!button) { return; }
    var pending = null;
    document.addEventListener("selectionchange", function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(placeButton, 120);
    });
    // keep the selection when the button is pressed
    button.addEventListener("mousedown", function (event) { event.preventDefault(); });
    button.addEventListener("click", function () {
      if (!chosen) { return; }
      var body = anchorOf(chosen.root, chosen.range);
      if (!body) { toast(button.getAttribute("data-error-missing"), "error"); return; }
      button.disabled = true;
      api("POST", "/api/v1/posts/" + button.getAttribute("data-post-id") + "/highlights", body)
        .then(function () {
          window.getSelection().removeAllRanges();
          button.hidden = true;
          toast(button.getAttribute("data-saved"));
          refresh("#post-highlights");
        })
        .catch(function (error) { toast(error.message, "error"); })
        .then(function () { button.disabled = false; });
    });
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail && event.detail.target && event.detail.target.id === "post-highlights") {
        drawHighlights();
      }
    });
    drawHighlights();
  }

  // -- #page-N (a search hit) inside a closed <details> ---------------------------------------

  function revealTarget() {
    if (!window.location.hash) { return; }
    var target = null;
    try { target = document.querySelector(window.location.hash); } catch (ignored) { return; }
    if (!target) { return; }
    var details = target.closest("details");
    if (details && !details.open) {
      details.open = true;
      target.scrollIntoView({ block: "start" });
    }
  }

  function start() {
    document.querySelectorAll("[data-transcript-for]").forEach(setupTranscript);
    setupLightbox();
    setupLists();
    setupHighlighting();
    revealTarget();
    window.addEventListener("hashchange", revealTarget);
    document.addEventListener("click", function (event) {
      var jump = event.target.closest ? event.target.closest("a[data-hl-jump]") : null;
      if (!jump) { return; }
      var mark = document.getElementById("hl-" + jump.getAttribute("data-hl-jump"));
      if (mark) {
        var details = mark.closest("details");
        if (details) { details.open = true; }
      }
    });
    startAtTime();
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
