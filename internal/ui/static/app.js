// procreg ui: live updates and lease countdowns. No inline script: the
// page's only data for this file is the JSON island #procreg-live (the
// process id a process page follows) and data-* attributes.
(function () {
  "use strict";

  // Countdowns: every [data-expires] shows the time to (or since) its instant.
  function fmt(ms) {
    var s = Math.round(Math.abs(ms) / 1000);
    var out = s < 60 ? s + "s" : s < 3600 ? Math.floor(s / 60) + "m " + (s % 60) + "s" :
      Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
    return ms >= 0 ? "in " + out : out + " ago";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-expires]").forEach(function (el) {
      var t = Date.parse(el.getAttribute("data-expires"));
      if (!isNaN(t)) { el.textContent = fmt(t - now); }
    });
  }
  setInterval(tick, 1000);
  document.addEventListener("DOMContentLoaded", tick);

  // Live updates: the server's change feed arrives as server-sent events;
  // on a relevant change the page re-fetches itself and swaps <main>.
  var followID = null;
  function init() {
    var island = document.getElementById("procreg-live");
    if (island) {
      try { followID = JSON.parse(island.textContent); } catch (e) { followID = null; }
    }
    var mode = document.body.getAttribute("data-mode");
    if (mode !== "overview" && mode !== "list" && mode !== "process") { return; }
    if (!window.EventSource) { return; }
    var status = document.getElementById("live-status");
    var es = new EventSource("/live");
    var pending = false, busy = false, last = 0;
    function refresh() {
      if (busy) { pending = true; return; }
      var wait = Math.max(0, 1000 - (Date.now() - last));
      busy = true;
      setTimeout(function () {
        fetch(location.href, { headers: { "X-Procreg-Partial": "1" }, credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
          .then(function (html) {
            var doc = new DOMParser().parseFromString(html, "text/html");
            var fresh = doc.getElementById("live"), cur = document.getElementById("live");
            if (fresh && cur) {
              // Keep what the user is typing in the filter form.
              var active = document.activeElement;
              if (active && cur.contains(active) && active.form) { return; }
              cur.replaceWith(document.importNode(fresh, true));
              if (status) { status.classList.remove("flash"); void status.offsetWidth; status.classList.add("flash"); }
              document.body.setAttribute("data-refreshed", String(Date.now()));
              tick();
            }
          })
          .catch(function () {})
          .then(function () {
            busy = false; last = Date.now();
            if (pending) { pending = false; refresh(); }
          });
      }, wait);
    }
    es.addEventListener("change", function (ev) {
      var msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (status) {
        status.textContent = "live · " + new Date().toLocaleTimeString();
        status.className = "pill pill-ok";
      }
      if (msg.counts) { if (mode !== "process") { refresh(); } return; } // a new count
      if (msg.ids.length === 0) { refresh(); return; } // the feed just went live
      if (mode === "process" && !msg.more && msg.ids.indexOf(followID) < 0) { return; }
      refresh();
    });
    es.onerror = function () {
      if (status) { status.textContent = "reconnecting…"; status.className = "pill pill-wait"; }
    };
    es.onopen = function () {
      if (status && status.textContent === "reconnecting…") { status.textContent = "live"; status.className = "pill pill-ok"; }
    };
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
