/* An import's progress bar: asks the admin for the run's counts every second and moves
 * the bar; when the run ends, reloads the page to show the outcome. Without this
 * script the page shows the counts as of its loading (reload to see more). */
(function () {
  "use strict";

  var script = document.currentScript;
  var url = script && script.getAttribute("data-progress-url");
  var bar = document.getElementById("import-progress");
  var text = document.getElementById("import-progress-text");
  if (!url || !bar || !text || !window.fetch) {
    return;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (!data) {
          return;
        }
        bar.max = data.total || 1;
        bar.value = data.done;
        text.textContent = data.done + " of " + data.total + " rows written: " +
          data.created + " new, " + data.updated + " updated.";
        if (data.state === "running") {
          window.setTimeout(poll, 1000);
        } else {
          window.location.reload();
        }
      })
      .catch(function () {
        window.setTimeout(poll, 3000);
      });
  }
  window.setTimeout(poll, 1000);
})();
