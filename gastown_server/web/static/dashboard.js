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
  es.addEventListener("main", function (e) {
    // Keep the transcript the stream has been filling, and open/closed <details>.
    var keep = document.getElementById("transcript");
    var closed = {};
    main.querySelectorAll("details").forEach(function (d, i) { if (!d.open) closed[i] = true; });
    main.innerHTML = e.data;
    main.querySelectorAll("details").forEach(function (d, i) { if (closed[i]) d.open = false; });
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
