// The meeting grid's small behaviours; the pages work without them.
(function () {
  "use strict";
  // While the scheduler runs, ask every few seconds whether it has finished, then reload.
  // Without JavaScript the page offers a "refresh" link instead.
  var status = document.querySelector("[data-schedule-status]");
  if (status && window.fetch) {
    var url = status.getAttribute("data-schedule-status");
    var timer = window.setInterval(function () {
      window.fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (data && !data.running) {
            window.clearInterval(timer);
            window.location.reload();
          }
        })
        .catch(function () { /* try again at the next tick */ });
    }, 3000);
  }
  // Table choices follow the chosen slot: <select data-table-select="id-of-the-table-select">
  // whose options carry data-tables="1 2 5" (the free tables of that slot).
  document.querySelectorAll("select[data-table-select]").forEach(function (slotSelect) {
    var tableSelect = document.getElementById(slotSelect.getAttribute("data-table-select"));
    if (!tableSelect) { return; }
    function update() {
      var option = slotSelect.options[slotSelect.selectedIndex];
      var free = option ? (option.getAttribute("data-tables") || "").split(" ") : [];
      Array.prototype.forEach.call(tableSelect.options, function (o) {
        var keep = o.value === "0" || free.indexOf(o.value) !== -1;
        o.hidden = !keep;
        o.disabled = !keep;
        if (!keep && o.selected) { tableSelect.value = "0"; }
      });
    }
    slotSelect.addEventListener("change", update);
    update();
  });
})();
