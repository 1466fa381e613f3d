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
