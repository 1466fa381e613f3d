// Small behaviours Accord's pages share. No inline scripts anywhere: the
// Content-Security-Policy forbids them, so everything hooks in from here.
(function () {
  "use strict";

  // Error responses of htmx requests that the server retargets to #flash
  // (HX-Retarget) are swapped there, so the user sees what went wrong.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var xhr = evt.detail.xhr;
    if (xhr && xhr.status >= 400 && xhr.getResponseHeader("HX-Retarget") === "#flash") {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });

  // A network failure of an htmx request gets a message too.
  document.addEventListener("htmx:sendError", function () {
    var flash = document.getElementById("flash");
    if (flash) {
      flash.innerHTML = '<div class="flash flash-error"><span>Accord could not be reached. Check your connection and try again.</span></div>';
    }
  });

  document.addEventListener("click", function (evt) {
    var t = evt.target;
    if (!(t instanceof Element)) return;
    var dismiss = t.closest("[data-dismiss]");
    if (dismiss) {
      var f = dismiss.closest(".flash");
      if (f) f.remove();
      return;
    }
    var copy = t.closest("[data-copy]");
    if (copy) {
      var input = document.querySelector(copy.getAttribute("data-copy"));
      if (input) {
        input.select();
        if (navigator.clipboard) {
          navigator.clipboard.writeText(input.value).then(function () { copy.textContent = "Copied"; });
        } else {
          document.execCommand("copy");
          copy.textContent = "Copied";
        }
      }
    }
  });

  // Forms that ask before they act (revoke a token, …).
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (form instanceof HTMLFormElement && form.hasAttribute("data-confirm")) {
      if (!window.confirm(form.getAttribute("data-confirm"))) evt.preventDefault();
    }
  });

  // Selects that submit their form on change (the tenant switcher).
  document.addEventListener("change", function (evt) {
    var t = evt.target;
    if (t instanceof HTMLSelectElement && t.hasAttribute("data-autosubmit") && t.form) {
      t.form.requestSubmit();
    }
  });
})();

// Countdowns on running timers tick without a reload: every element with
// data-due shows the time left, and turns red once overdue.
(function () {
  "use strict";
  function fmt(ms) {
    var mins = Math.floor(Math.abs(ms) / 60000);
    var text;
    if (mins < 1) text = "just now";
    else if (mins < 60) text = mins + " min";
    else if (mins < 24 * 60) text = Math.floor(mins / 60) + " h " + (mins % 60) + " min";
    else text = Math.floor(mins / 1440) + " d " + Math.floor((mins % 1440) / 60) + " h";
    return ms <= 0 ? "overdue by " + text : text;
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-due]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-due"));
      if (isNaN(due)) return;
      var left = el.querySelector(".countdown-left");
      if (left) left.textContent = fmt(due - now);
      if (due <= now) el.classList.add("countdown-risk");
    });
  }
  setInterval(tick, 30000);
})();

// The dashboard updates when breaches happen: the server streams a
// "breach" event (server-sent events) and the page reloads its figures in
// place, keeping the period and filters of the URL.
(function () {
  "use strict";
  var dash = document.getElementById("dashboard");
  if (!dash || !dash.getAttribute("data-live-url") || !window.EventSource) return;
  var es = new EventSource(dash.getAttribute("data-live-url"));
  window.accordLive = es; // tests wait for readyState 1 (open)
  es.addEventListener("breach", function (evt) {
    var n = 1;
    try { n = JSON.parse(evt.data).count || 1; } catch (e) { /* keep 1 */ }
    var say = (n === 1 ? "A new breach" : n + " new breaches") + " just now: the figures below include it.";
    window.htmx.ajax("GET", window.location.pathname + window.location.search,
      { target: "#dashboard-body", select: "#dashboard-body", swap: "outerHTML" }).then(function () {
      var note = document.getElementById("live-breaches");
      if (note) note.textContent = say;
    });
  });
  window.addEventListener("pagehide", function () { es.close(); });
})();
