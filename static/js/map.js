/* Clinic map for the results and clinic pages: our own code, no inline script.
 *
 * The page holds the data (a <script type="application/json" id="<map>-data"> block
 * written by directory/public/map_data.py) and a hidden panel (templates/_map.html).
 * This script shows the panel's button; Leaflet (our copy under /static/vendor/)
 * and the map images are loaded only when the patient presses it, so opening a
 * page never contacts a tile server. With no tile URL configured the map shows
 * the markers on a plain background and requests no images at all.
 * On phones the results map replaces the list while open (the list comes first).
 */
(function () {
  "use strict";

  var CLUSTER_FROM = 10; // cluster markers when a page shows at least this many
  var PHONE = window.matchMedia("(max-width: 47.99rem)");
  var leafletLoading = null;

  function loadAsset(tag, url) {
    return new Promise(function (resolve, reject) {
      var el = document.createElement(tag);
      if (tag === "link") {
        el.rel = "stylesheet";
        el.href = url;
      } else {
        el.src = url;
        el.async = false;
      }
      el.onload = function () { resolve(); };
      el.onerror = function () { reject(new Error("could not load " + url)); };
      document.head.appendChild(el);
    });
  }

  function loadLeaflet(assets) {
    if (!leafletLoading) {
      leafletLoading = Promise.all([
        loadAsset("link", assets.leaflet_css),
        loadAsset("link", assets.cluster_css),
        loadAsset("link", assets.cluster_theme_css),
        loadAsset("script", assets.leaflet_js).then(function () {
          return loadAsset("script", assets.cluster_js);
        })
      ]);
      leafletLoading.catch(function () { leafletLoading = null; });
    }
    return leafletLoading;
  }

  function escapeText(text) {
    var div = document.createElement("div");
    div.textContent = text;
    return div.innerHTML;
  }

  function popupContent(point) {
    var box = document.createElement("p");
    box.className = "map-popup";
    var link = document.createElement("a");
    link.href = point.url;
    link.textContent = point.name;
    box.appendChild(link);
    var details = [point.place, point.distance].filter(Boolean).join(" · ");
    if (details) {
      box.appendChild(document.createElement("br"));
      box.appendChild(document.createTextNode(details));
    }
    return box;
  }

  function clusterIcon(cluster) {
    var count = cluster.getChildCount();
    var size = count < 10 ? "small" : count < 100 ? "medium" : "large";
    return window.L.divIcon({
      html: "<div><span>" + count + '<span class="visually-hidden"> clinics here; zoom in</span></span></div>',
      className: "marker-cluster marker-cluster-" + size,
      iconSize: window.L.point(40, 40)
    });
  }

  function buildMap(box, data) {
    var L = window.L;
    L.Icon.Default.imagePath = data.assets.images;
    var map = L.map(box, { scrollWheelZoom: false, zoomSnap: 0.5, minZoom: 3, maxZoom: 18 });
    if (data.tiles.url) {
      L.tileLayer(data.tiles.url, {
        maxZoom: 19,
        attribution: escapeText(data.tiles.attribution || "")
      }).addTo(map);
    } else {
      box.classList.add("map-plain");
    }
    L.control.scale({ metric: false }).addTo(map);

    // The view first: the cluster layer needs a zoom level when it is added.
    var bounds = data.points.map(function (point) { return [point.lat, point.lng]; });
    if (data.center) bounds.push([data.center.lat, data.center.lng]);
    if (bounds.length === 1) {
      map.setView(bounds[0], 13);
    } else {
      map.fitBounds(bounds, { padding: [24, 24], maxZoom: 14 });
    }

    var group = data.points.length >= CLUSTER_FROM && L.markerClusterGroup
      ? L.markerClusterGroup({ showCoverageOnHover: false, iconCreateFunction: clusterIcon })
      : L.featureGroup();
    data.points.forEach(function (point) {
      var label = point.name + (point.distance ? ", " + point.distance : "");
      group.addLayer(
        L.marker([point.lat, point.lng], { title: label, alt: label, keyboard: true })
          .bindPopup(popupContent(point))
      );
    });
    group.addTo(map);

    if (data.center) {
      L.circleMarker([data.center.lat, data.center.lng], {
        radius: 7, weight: 3, fillOpacity: 0.35, interactive: false, className: "map-center"
      }).addTo(map);
    }
    return map;
  }

  function setUp(panel) {
    var box = document.getElementById(panel.getAttribute("data-map"));
    var source = document.getElementById(panel.getAttribute("data-map") + "-data");
    var button = panel.querySelector(".map-toggle");
    var status = panel.querySelector(".map-status");
    var listId = panel.getAttribute("data-map-list");
    var list = listId ? document.getElementById(listId) : null;
    var data = null;
    try {
      data = JSON.parse(source.textContent);
    } catch (error) {
      data = null;
    }
    if (!box || !button || !data || !data.points || !data.points.length) {
      panel.remove(); // the stylesheet keeps room for it where scripts run
      return;
    }

    var map = null;
    var open = false;
    var showLabel = "Show map" + (data.tiles.host ? " (images from " + data.tiles.host + ")" : "");

    function replacesList() {
      return Boolean(list) && PHONE.matches;
    }

    function render() {
      box.hidden = !open;
      button.setAttribute("aria-expanded", String(open));
      if (list) list.hidden = open && replacesList();
      button.textContent = !open ? showLabel : replacesList() ? "Show list" : "Hide map";
      if (open && map) map.invalidateSize();
    }

    var loading = false;
    button.addEventListener("click", function () {
      if (loading) return; // not `disabled`: that would take the keyboard focus away
      if (open || map) {
        open = !open;
        status.textContent = open ? "Map shown." : "";
        render();
        return;
      }
      loading = true;
      button.setAttribute("aria-busy", "true");
      status.textContent = "Loading the map…";
      loadLeaflet(data.assets).then(function () {
        box.hidden = false; // Leaflet measures the box when it builds the map
        map = buildMap(box, data);
        open = true;
        status.textContent = "Map shown. Select a marker for the clinic's name, distance and link.";
        render();
      }).catch(function (error) {
        box.hidden = true;
        status.textContent = "The map could not be loaded. Every clinic is in the list.";
        if (window.console) window.console.error(error);
      }).then(function () {
        loading = false;
        button.removeAttribute("aria-busy");
      });
    });

    var onResize = function () { if (open) render(); };
    if (PHONE.addEventListener) PHONE.addEventListener("change", onResize);
    panel.hidden = false;
  }

  var panels = document.querySelectorAll("[data-map]");
  for (var i = 0; i < panels.length; i += 1) setUp(panels[i]);
}());
