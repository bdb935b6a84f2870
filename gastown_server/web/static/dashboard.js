// gt dashboard: live updates. The server pushes (server-sent events); this never polls.
// Without JavaScript every page still shows the data as of loading it.
(function () {
  "use strict";
  var main = document.getElementById("main");
  var dot = document.getElementById("live");
  if (!main || !window.EventSource) return;
  var view = location.pathname + location.search;
  function state(on, text) {
    dot.className = "live " + (on ? "on" : "off");
    dot.lastElementChild.textContent = text;
  }
  function transcriptOffset() {
    var t = document.getElementById("transcript");
    return t ? t.getAttribute("data-offset") : null;
  }
  var offset = transcriptOffset();
  var url = "/live?view=" + encodeURIComponent(view) + "&cursor=" + (document.body.getAttribute("data-cursor") || "0") +
    (offset !== null ? "&offset=" + offset : "");
  var es = new EventSource(url);
  es.addEventListener("hello", function () { state(true, "live"); });
  // A form's fields, keyed by the form (its action and hidden values: which MR a Retry is for) and name.
  function fields(root, each) {
    root.querySelectorAll("form").forEach(function (f) {
      var key = f.getAttribute("action") || "";
      f.querySelectorAll("input[type=hidden]").forEach(function (h) {
        if (h.name !== "csrf") key += "|" + h.name + "=" + h.value;
      });
      f.querySelectorAll("input:not([type=hidden]), textarea, select").forEach(function (el) {
        each(key + "#" + el.name, el);
      });
    });
  }
  es.addEventListener("main", function (e) {
    // Keep the transcript the stream has been filling, open/closed <details>, and what is being
    // typed in a form (the town and agent pages re-render every second while agents work).
    var keep = document.getElementById("transcript");
    var closed = {};
    main.querySelectorAll("details").forEach(function (d, i) { if (!d.open) closed[i] = true; });
    var typed = {}, focus = null;
    fields(main, function (id, el) {
      typed[id] = el.type === "checkbox" ? el.checked : el.value;
      if (el === document.activeElement) {
        focus = { id: id, start: null, end: null };
        try { focus.start = el.selectionStart; focus.end = el.selectionEnd; } catch (err) { /* no caret here */ }
      }
    });
    main.innerHTML = e.data;
    main.querySelectorAll("details").forEach(function (d, i) { if (closed[i]) d.open = false; });
    fields(main, function (id, el) {
      if (!(id in typed)) return;
      if (el.type === "checkbox") el.checked = typed[id]; else el.value = typed[id];
      if (focus && focus.id === id) {
        el.focus();
        try { if (focus.start !== null) el.setSelectionRange(focus.start, focus.end); } catch (err) { /* no caret here */ }
      }
    });
    var fresh = document.getElementById("transcript");
    if (keep && fresh) fresh.replaceWith(keep);
    document.body.setAttribute("data-updated", String(Date.now()));
    state(true, "live");
  });
  es.addEventListener("transcript", function (e) {
    var t = document.getElementById("transcript");
    if (!t) return;
    var chunk = JSON.parse(e.data);
    var atBottom = t.scrollTop + t.clientHeight >= t.scrollHeight - 8;
    if (chunk.rotated) t.textContent = "";
    t.textContent += chunk.data;
    if (t.textContent.length > 400000) t.textContent = t.textContent.slice(-300000);
    t.setAttribute("data-offset", String(chunk.end));
    if (atBottom) t.scrollTop = t.scrollHeight;
  });
  es.onerror = function () { state(false, "reconnecting"); };
  window.addEventListener("load", function () {
    var t = document.getElementById("transcript");
    if (t) t.scrollTop = t.scrollHeight;
  });
})();
