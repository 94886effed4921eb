/* Clinic map for the results and clinic pages: our own code, no inline script.
 *
 * The page holds the data (a <script type="application/json" id="<map>-data"> block
 * written by directory/public/map_data.py) and a hidden panel (templates/_map.html).
 * This script shows the panel's button; Leaflet (our copy under /static/vendor/)
 * and the map images are loaded only when the patient presses it, so opening a
 * page never contacts a tile server. With no tile URL configured the map draws
 * state and county outlines and town names instead (static/js/map-outline.js,
 * loaded only for such a map) and requests no images at all.
 * On phones the results map replaces the list while open (the list comes first):
 * opening it scrolls it into view, closing it returns the list where it was.
 * "Directions" links (marker popups, the clinic page) open the patient's own maps
 * app where we know which one that is; the server writes the plain web link.
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

  // The outline drawing for a map without tiles: after Leaflet, which it uses.
  function loadOutline(data) {
    if (data.tiles.url) return Promise.resolve();
    return Promise.all([
      loadAsset("script", data.assets.topojson_js),
      loadAsset("script", data.assets.outline_js)
    ]);
  }

  // Which maps app a "Directions" link can open: geo: URIs open the chosen app on
  // Android, Apple Maps links open Maps on Apple devices (iPadOS says "Macintosh").
  // Anywhere else the server's plain web link stays. Nothing is fetched until tapped.
  function directionsTarget(directions) {
    var agent = window.navigator.userAgent;
    if (/Android/i.test(agent)) return { href: directions.geo, where: "(opens your maps app)" };
    if (/iPhone|iPad|iPod|Macintosh/.test(agent)) {
      return { href: directions.apple, where: "(opens your maps app)" };
    }
    return { href: directions.web, where: "(opens OpenStreetMap)" };
  }

  function directionsLink(directions) {
    var target = directionsTarget(directions);
    var link = document.createElement("a");
    link.className = "directions";
    link.rel = "nofollow noopener";
    link.href = target.href;
    link.textContent = "Directions ";
    var where = document.createElement("span");
    where.className = "directions-where";
    where.textContent = target.where;
    link.appendChild(where);
    return link;
  }

  // The clinic page's own link (templates/clinic.html) carries the other targets.
  function upgradeDirections(link) {
    var target = directionsTarget({
      web: link.href, geo: link.getAttribute("data-geo"), apple: link.getAttribute("data-apple")
    });
    var where = link.querySelector(".directions-where");
    if (!target.href || !where) return;
    link.href = target.href;
    where.textContent = target.where;
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
    if (point.directions) {
      box.appendChild(document.createElement("br"));
      box.appendChild(directionsLink(point.directions));
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
      box.classList.add("map-plain"); // outlines and town names: map-outline.js
    }
    L.control.scale({ metric: false }).addTo(map);

    // The view first: the cluster layer needs a zoom level when it is added.
    var bounds = data.points.map(function (point) { return [point.lat, point.lng]; });
    if (data.center) bounds.push([data.center.lat, data.center.lng]);
    // Without street images a close view is an empty field: open far enough out
    // that town names and county lines say where the clinic is.
    var closest = data.tiles.url ? 14 : 11;
    if (bounds.length === 1) {
      map.setView(bounds[0], closest - 1);
    } else {
      map.fitBounds(bounds, { padding: [24, 24], maxZoom: closest });
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
    if (!data.tiles.url && window.mapOutline) {
      window.mapOutline.draw(map, data, group).catch(function (error) {
        if (window.console) window.console.error(error); // the markers still show
      });
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

    // On a phone the map opens where the list was: show all of it, the button above
    // it if both fit. Focus stays on the button (it says what it does next) unless
    // the button had to leave the screen; then it moves to the map itself.
    var listScroll = null;
    function bringIntoView() {
      if (!PHONE.matches) return;
      panel.scrollIntoView({ block: "start" });
      if (box.getBoundingClientRect().bottom > window.innerHeight) box.scrollIntoView({ block: "end" });
      if (Math.round(button.getBoundingClientRect().top) < 0) box.focus();
    }

    function opened() {
      listScroll = replacesList() ? window.scrollY : null;
      open = true;
      render();
      bringIntoView();
    }

    function closed() {
      open = false;
      render();
      if (listScroll !== null && list && !list.hidden) window.scrollTo(window.scrollX, listScroll);
      listScroll = null;
    }

    var loading = false;
    button.addEventListener("click", function () {
      if (loading) return; // not `disabled`: that would take the keyboard focus away
      if (open || map) {
        status.textContent = open ? "" : "Map shown.";
        if (open) closed(); else opened();
        return;
      }
      loading = true;
      button.setAttribute("aria-busy", "true");
      status.textContent = "Loading the map…";
      loadLeaflet(data.assets).then(function () {
        return loadOutline(data);
      }).then(function () {
        box.hidden = false; // Leaflet measures the box when it builds the map
        map = buildMap(box, data);
        status.textContent = "Map shown. Select a marker for the clinic's name, distance and link.";
        opened();
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
  var links = document.querySelectorAll("a.directions[data-geo]");
  for (var j = 0; j < links.length; j += 1) upgradeDirections(links[j]);
}());
