// walletbridge web app: small behaviours on top of htmx. No inline script anywhere; this file
// is loaded with `defer` from the page head.
(function () {
  "use strict";

  // A form submits once: its submit buttons are disabled as it goes. The form's idempotency
  // key makes a second submission harmless anyway; this keeps people from trying.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || event.defaultPrevented) { return; }
    if (form.dataset.wbSubmitted === "1") { event.preventDefault(); return; }
    form.dataset.wbSubmitted = "1";
    window.setTimeout(function () {
      form.querySelectorAll("button[type=submit], input[type=submit]").forEach(function (button) {
        button.disabled = true;
        button.setAttribute("aria-disabled", "true");
      });
    }, 0);
  }, true);

  // Coming back with the browser's back button shows a page from its cache: let its forms work.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-wb-submitted]").forEach(function (form) {
      delete form.dataset.wbSubmitted;
      form.querySelectorAll("[aria-disabled=true]").forEach(function (button) {
        button.disabled = false;
        button.removeAttribute("aria-disabled");
      });
    });
  });

  // The live feed: an item the list already shows is not added again. (A new event source,
  // which htmx opens after one failed, resumes from where the page began, not from the last id.)
  document.addEventListener("htmx:sseBeforeMessage", function (event) {
    var message = event.detail;
    if (message && message.type === "activity" && message.lastEventId &&
        document.getElementById("activity-" + message.lastEventId)) {
      event.preventDefault();
    }
  });

  // Move focus to the first field with an error, so keyboard and screen-reader users land on it.
  document.addEventListener("DOMContentLoaded", function () {
    var invalid = document.querySelector("[aria-invalid=true]");
    if (invalid) { invalid.focus(); }
  });
})();
