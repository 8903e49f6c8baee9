/* The charts of the monitoring dashboard, drawn with Chart.js from the JSON block each canvas
   names in its data-kpi-chart attribute. Every label, series name and figure comes from the
   server in the reader's language (the tooltips show the same text as the table beneath);
   lines differ by point style and dash as well as by colour. */
(function () {
  "use strict";
  if (typeof window.Chart === "undefined") { return; }

  var TEXT = "#1a1a1a";
  var GRID = "#d0d0d0";
  var POINTS = ["circle", "rect", "triangle", "rectRot", "star", "crossRot"];
  var DASHES = [[], [6, 4], [2, 3], [10, 3, 2, 3], [4, 4], [1, 2]];
  var locale = document.documentElement.lang || "en";
  window.Chart.defaults.font.family = '"Titillium Web", Geneva, Tahoma, sans-serif';
  window.Chart.defaults.font.size = 13;

  function readData(canvas) {
    var block = document.getElementById(canvas.getAttribute("data-kpi-chart"));
    if (!block) { return null; }
    try { return JSON.parse(block.textContent); } catch (e) { return null; }
  }

  function datasets(data) {
    return data.datasets.map(function (d, i) {
      var set = {
        label: d.label,
        data: d.data,
        texts: d.texts,
        backgroundColor: d.color,
        borderColor: d.color,
        borderWidth: data.type === "line" ? 2 : 1
      };
      if (data.type === "line") {
        set.pointStyle = POINTS[i % POINTS.length];
        set.pointRadius = 5;
        set.borderDash = DASHES[i % DASHES.length];
        set.spanGaps = false;
        set.fill = false;
      }
      return set;
    });
  }

  function draw(canvas) {
    var data = readData(canvas);
    if (!data) { return; }
    new window.Chart(canvas, {
      type: data.type,
      data: { labels: data.labels, datasets: datasets(data) },
      options: {
        locale: locale,
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        color: TEXT,
        plugins: {
          legend: { position: "bottom", labels: { color: TEXT, usePointStyle: data.type === "line" } },
          tooltip: {
            callbacks: {
              label: function (item) {
                var texts = item.dataset.texts || [];
                return item.dataset.label + ": " + (texts[item.dataIndex] || item.formattedValue);
              }
            }
          }
        },
        scales: {
          x: { title: { display: true, text: data.x, color: TEXT }, ticks: { color: TEXT }, grid: { color: GRID } },
          y: {
            beginAtZero: true,
            title: { display: true, text: data.y, color: TEXT },
            ticks: { color: TEXT },
            grid: { color: GRID }
          }
        }
      }
    });
  }

  function start() {
    var canvases = document.querySelectorAll("canvas[data-kpi-chart]");
    for (var i = 0; i < canvases.length; i++) { draw(canvases[i]); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
