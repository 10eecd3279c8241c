// The marketer UI's own script: progressive enhancement only; every page works without it where a form can.
// Charts: a <canvas data-chart="..."> holds its Chart.js configuration as JSON written by the server.
(function () {
  function drawCharts(root) {
    if (typeof Chart === "undefined") return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) return;
      canvas.dataset.drawn = "1";
      new Chart(canvas, JSON.parse(canvas.dataset.chart));
    });
  }
  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.addEventListener("htmx:afterSwap", function (e) { drawCharts(e.target); });
})();
