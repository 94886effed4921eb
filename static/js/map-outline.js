/* What the clinic map draws when no tile server is configured: our own code.
 *
 * static/js/map.js loads this (with our copy of topojson-client) only for such a map,
 * and calls window.mapOutline.draw(map, data). It draws the US state outlines from
 * our copy of us-atlas, the county lines once the patient zooms in far enough
 * (that file is large, so it is fetched only then), and the names of the biggest
 * towns in view (Leaflet tooltips), from data.places (directory/public/map_data.py). Everything comes
 * from our own origin. Town names sit in a pane under the markers and skip any
 * spot where a marker or another name already is, so they never hide a clinic.
 */
(function () {
  "use strict";

  var COUNTY_ZOOM = 7; // county lines from this zoom level on
  var LABEL_HEIGHT = 20; // px, as .map-place in static/css/site.css
  var CHAR_WIDTH = 7.5; // px, a generous average at that font size
  var MARKER_BOX = { left: 14, right: 14, top: 42, bottom: 4 }; // the default pin, anchored at its tip

  function getJSON(url) {
    return window.fetch(url, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) throw new Error("could not load " + url);
      return response.json();
    });
  }

  function outlineLayer(L, geojson, className) {
    return L.geoJSON(geojson, { interactive: false, className: className }); // paths take the layer's options
  }

  function overlaps(a, b) {
    return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  }

  // Where markers and clusters are drawn now, in the map's own pixels.
  function drawnMarkers(map) {
    var origin = map.getContainer().getBoundingClientRect();
    var icons = map.getPane("markerPane").querySelectorAll(".leaflet-marker-icon");
    return Array.prototype.map.call(icons, function (icon) {
      var r = icon.getBoundingClientRect();
      return { left: r.left - origin.left, right: r.right - origin.left, top: r.top - origin.top, bottom: r.bottom - origin.top };
    });
  }

  // Names of the biggest towns that fit, biggest first; about one per 25,000 px².
  // They keep clear of every marker: where it is drawn, and where its pin would be
  // (the same unless it is in a cluster, or the markers are still moving).
  function placeLabels(L, map, data, layer) {
    layer.clearLayers();
    var size = map.getSize();
    var most = Math.max(4, Math.min(14, Math.round((size.x * size.y) / 25000)));
    var taken = drawnMarkers(map).concat(data.points.map(function (point) {
      var at = map.latLngToContainerPoint([point.lat, point.lng]);
      return {
        left: at.x - MARKER_BOX.left, right: at.x + MARKER_BOX.right,
        top: at.y - MARKER_BOX.top, bottom: at.y + MARKER_BOX.bottom
      };
    }));
    if (data.center) {
      var centre = map.latLngToContainerPoint([data.center.lat, data.center.lng]);
      taken.push({ left: centre.x - 10, right: centre.x + 10, top: centre.y - 10, bottom: centre.y + 10 });
    }
    var shown = 0;
    data.places.forEach(function (place) {
      if (shown >= most) return;
      var at = map.latLngToContainerPoint([place.lat, place.lng]);
      var width = 12 + place.name.length * CHAR_WIDTH;
      var top = at.y - LABEL_HEIGHT / 2;
      var bottom = at.y + LABEL_HEIGHT / 2;
      // The name right of the town, else left of it (a town under a cluster is
      // still named beside it).
      var side = [
        { direction: "right", offset: [-4, 0], box: { left: at.x - 5, right: at.x + width, top: top, bottom: bottom } },
        { direction: "left", offset: [4, 0], box: { left: at.x - width, right: at.x + 5, top: top, bottom: bottom } }
      ].filter(function (option) {
        var box = option.box;
        return box.left >= 0 && box.top >= 0 && box.right <= size.x && box.bottom <= size.y &&
          !taken.some(function (other) { return overlaps(box, other); });
      })[0];
      if (!side) return;
      taken.push(side.box);
      shown += 1;
      // A tooltip, not a marker: nothing to focus or click, and no .leaflet-marker-icon.
      // Its near edge sits 4px past the town, where the CSS draws the town's dot.
      layer.addLayer(L.tooltip({
        pane: "places", permanent: true, direction: side.direction, offset: side.offset,
        opacity: 1, className: "map-place"
      }).setLatLng([place.lat, place.lng]).setContent(document.createTextNode(place.name)));
    });
  }

  // `markers`: the layer holding the clinics; a cluster layer says when it has
  // finished moving its markers, and the names are placed again then.
  function draw(map, data, markers) {
    var L = window.L;
    var topojson = window.topojson;
    // Town names above the outlines (overlayPane, 400), below markers (600).
    var pane = map.createPane("places");
    pane.style.zIndex = 450;
    pane.style.pointerEvents = "none";
    pane.setAttribute("aria-hidden", "true"); // orientation for the eye; markers carry the names

    var labels = L.layerGroup().addTo(map);
    var relabel = function () { placeLabels(L, map, data, labels); };
    map.on("zoomend moveend resize", relabel);
    if (markers) markers.on("animationend", relabel);
    relabel();

    var counties = null;
    var countiesLoading = null;
    function showCounties() {
      var wanted = map.getZoom() >= COUNTY_ZOOM;
      if (counties) {
        if (wanted && !map.hasLayer(counties)) counties.addTo(map);
        if (!wanted && map.hasLayer(counties)) map.removeLayer(counties);
        return;
      }
      if (!wanted || countiesLoading) return;
      countiesLoading = getJSON(data.assets.counties).then(function (topo) {
        // County lines inside each state only (the first two digits of the FIPS
        // code): the state outlines draw the rest.
        counties = outlineLayer(L, topojson.mesh(topo, topo.objects.counties, function (a, b) {
          return a !== b && String(a.id).slice(0, 2) === String(b.id).slice(0, 2);
        }), "map-county");
        showCounties();
      }).catch(function (error) {
        countiesLoading = null; // try again on the next zoom
        if (window.console) window.console.error(error);
      });
    }
    map.on("zoomend", showCounties);

    return getJSON(data.assets.states).then(function (topo) {
      outlineLayer(L, topojson.feature(topo, topo.objects.states), "map-state").addTo(map).bringToBack();
      showCounties();
    });
  }

  window.mapOutline = { draw: draw };
}());
