// opsapp's small behaviours. No inline scripts: the CSP allows only files from this site.
(function () {
  "use strict";
  // Buttons that need a second thought: <button data-confirm="Are you sure?">
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var message = (button && button.getAttribute("data-confirm")) || event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });
  // Selects that submit their form when changed (filters): <select data-autosubmit>
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.requestSubmit(); });
  });
  // The error summary takes the focus, so screen-reader users hear what to fix first.
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
  // Print buttons: <button data-print>
  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
})();
