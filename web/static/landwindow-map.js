/* Land Window map helpers: feature popups and the drawn-boundary hand-off (styles: web/landuse_style.py). */
(function () {
  "use strict";
  var LW = (window.LW = window.LW || {});
  LW.landuseColors = LW.landuseColors || {};

  function esc(v) {
    return String(v === null || v === undefined ? "" : v).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  LW.popup = function (title, props) {
    var rows = Object.keys(props || {}).map(function (k) {
      return "<tr><th>" + esc(k) + "</th><td>" + esc(props[k]) + "</td></tr>";
    });
    return "<div class='lw-popup'><b>" + esc(title) + "</b><table>" + rows.join("") + "</table></div>";
  };

  LW.bindClick = function (map, layer, title) {
    layer.on("click", function (e) {
      L.popup().setLatLng(e.latlng).setContent(LW.popup(title, e.layer.properties)).openOn(map);
    });
    // Leaflet hides canvas tiles' clicks from the map: find the features under the pointer in the tiles' own
    // features, and answer with the most specific one (the smallest: a parcel, not the township around it).
    if (layer.options.rendererFactory === L.canvas.tile) {
      (map._lwGrids = map._lwGrids || []).push(layer);
      if (map._lwGrids.length === 1) {
        L.DomEvent.on(map.getContainer(), "click", function (ev) {
          var t = ev.target;
          if (!t || t.tagName !== "CANVAS" || !map.getPane("tilePane").contains(t)) return;
          var latlng = map.mouseEventToLatLng(ev), best = null, bestArea = Infinity;
          map._lwGrids.forEach(function (grid) {
            if (!map.hasLayer(grid)) return;
            var f = LW.featureAt(map, grid, latlng);
            if (!f) return;
            var size = f._pxBounds ? f._pxBounds.getSize() : L.point(0, 0), area = size.x * size.y;
            if (area < bestArea) { best = { grid: grid, feature: f }; bestArea = area; }
          });
          if (best) best.grid.fire("click", { latlng: latlng, layer: best.feature, originalEvent: ev });
        });
      }
    }
  };

  /* The topmost feature of a vector grid under a point (tile-local pixels, as VectorGrid draws them). */
  LW.featureAt = function (map, layer, latlng) {
    var size = layer.getTileSize(), z = map.getZoom();
    var p = map.project(latlng, z), coords = p.unscaleBy(size).floor();
    coords.z = z;
    var tile = layer._vectorTiles && layer._vectorTiles[layer._tileCoordsToKey(coords)];
    if (!tile) return null;
    var local = p.subtract(coords.scaleBy(size)), hit = null;
    for (var id in tile._layers) {
      var f = tile._layers[id];
      if (f._containsPoint && f._containsPoint(local)) hit = f;
    }
    return hit;
  };

  /* The clerk's drawn boundary goes into a hidden form field as GeoJSON (EPSG:4490 ≈ lon/lat). */
  LW.onDrawn = function (map, drawnItems, fieldId) {
    map.on(L.Draw.Event.CREATED, function (e) {
      drawnItems.clearLayers();
      drawnItems.addLayer(e.layer);
      var field = document.getElementById(fieldId);
      if (field) field.value = JSON.stringify(e.layer.toGeoJSON());
      window.landwindowDrawn = e.layer.toGeoJSON();
    });
  };
})();
