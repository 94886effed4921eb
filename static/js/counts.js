/* Counts for clinics' insights: which listings a results page showed, which listing
 * page was read, and taps on a listing's phone number or website. Each is one
 * navigator.sendBeacon POST to this site naming only listing numbers
 * (/count/<kind>?c=12&c=40): no cookie, no identifier, nothing stored in the
 * browser, no time or order kept by the server, which adds them to monthly
 * counters (directory/insights). Without this script nothing is counted and
 * everything works.
 *
 * Marks: [data-count-appearance="<id>"] on result cards, [data-count-view="<id>"] on
 * a listing page, a[data-count="phone"|"website"][data-clinic="<id>"] links. The
 * script tag says where counts go (data-count-url) and how many listings one count
 * may name (data-count-max).
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var base = script && script.getAttribute("data-count-url");
  var MAX = parseInt((script && script.getAttribute("data-count-max")) || "50", 10) || 50;
  var ID = /^[0-9]{1,9}$/;
  if (!base || !navigator.sendBeacon) {
    return;
  }

  function send(kind, ids) {
    var valid = ids.filter(function (id) {
      return ID.test(id || "");
    }).slice(0, MAX);
    if (!valid.length) {
      return;
    }
    var query = valid.map(function (id) {
      return "c=" + id;
    }).join("&");
    navigator.sendBeacon(base + kind + "?" + query);
  }

  var shown = Array.prototype.map.call(
    document.querySelectorAll("[data-count-appearance]"),
    function (element) {
      return element.getAttribute("data-count-appearance");
    }
  );
  send("appearance", shown);
  var viewed = document.querySelector("[data-count-view]");
  if (viewed) {
    send("view", [viewed.getAttribute("data-count-view")]);
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-count]") : null;
    if (link) {
      send(link.getAttribute("data-count"), [link.getAttribute("data-clinic")]);
    }
  });
})();
