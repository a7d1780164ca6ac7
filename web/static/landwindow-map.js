/* Land Window map helpers: feature popups and the drawn-boundary hand-off (styles: web/landuse_style.py). */
(function () {
  "use strict";
  var LW = (window.LW = window.LW || {});
  LW.landuseColors = LW.landuseColors || {};

  // Leaflet 1.8 dropped L.DomEvent.fakeStop, which Leaflet.VectorGrid 1.3 still calls when a click lands on a
  // feature of a canvas tile (a TypeError in the console, the click lost). What it meant in 1.9's terms: the event
  // was handled by a layer, so the map does not pass it on to the layers below; the page still sees it.
  if (window.L && L.DomEvent && !L.DomEvent.fakeStop) {
    L.DomEvent.fakeStop = function (e) { e._stopped = true; };
  }

  function esc(v) {
    return String(v === null || v === undefined ? "" : v).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  /* The page's names of columns and code values (<script type="application/json" id="lw-map-labels">). */
  function labels() {
    if (!LW._labels) {
      var el = document.getElementById("lw-map-labels");
      try { LW._labels = el ? JSON.parse(el.textContent) : null; } catch (e) { LW._labels = null; }
      LW._labels = LW._labels || { fields: {}, values: {}, landuse: {} };
    }
    return LW._labels;
  }

  /* A land-use code with its name: 0101 水田 (a working suffix such as 0301K keeps the class's name). */
  LW.landuseName = function (code) {
    var c = String(code || ""), names = labels().landuse || {};
    var name = names[c.slice(0, 4)] || names[c.slice(0, 2)];
    return name ? c + " " + name : c;
  };

  function shown(key, value) {
    var t = labels();
    if (key === "dlbm" || key === "land_class") return LW.landuseName(value);
    var named = (t.values || {})[key];
    return named && named[value] !== undefined ? named[value] : value;
  }

  /* A feature's attributes as people read them: named columns, named codes, nothing empty or internal. */
  LW.popup = function (title, props) {
    var t = labels(), rows = [];
    Object.keys(props || {}).forEach(function (k) {
      var v = props[k];
      if (k === "id" || k === "props" || k.charAt(0) === "_" || v === null || v === undefined || v === "") return;
      rows.push("<tr><th>" + esc((t.fields || {})[k] || k) + "</th><td>" + esc(shown(k, v)) + "</td></tr>");
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

  /* One request per tile for every layer of the map. Each layer stays its own VectorGrid (styles, the layer
     control, clicks), but the tiles the grids ask for in the same moment — all of them when the map is framed or
     moved — are fetched together from `lwTiles` ("/tiles/{z}/{x}/{y}.pbf") with ?layers=a,b,…: an MVT is a
     sequence of layers, and each grid takes its own from the answer. Grids without the option fetch as usual. */
  LW.batchTiles = function () {
    var P = L.VectorGrid.Protobuf.prototype;
    if (P._lwBatched) return;
    var fetchOne = P._getVectorTilePromise, pending = null;
    P._lwBatched = true;
    P._getVectorTilePromise = function (coords, tileBounds) {
      if (!this.options.lwTiles) return fetchOne.call(this, coords, tileBounds);
      var grid = this, name = this.options.lwLayer;
      return new Promise(function (resolve, reject) {
        if (!pending) { pending = {}; setTimeout(flush, 0); }
        var key = grid.options.lwTiles + "|" + coords.z + "/" + coords.x + "/" + coords.y;
        var batch = pending[key] || (pending[key] = { grid: grid, coords: coords, tileBounds: tileBounds, wanted: {} });
        (batch.wanted[name] = batch.wanted[name] || []).push([resolve, reject]);
      });
    };
    function flush() {
      var batches = pending;
      pending = null;
      Object.keys(batches).forEach(function (key) {
        var b = batches[key], names = Object.keys(b.wanted).sort();
        // the first grid fetches and decodes for all: VectorGrid's own fetch, pointed at the combined URL
        var fetcher = Object.create(b.grid, { _url: { value: b.grid.options.lwTiles + "?layers=" + names.join(",") } });
        fetchOne.call(fetcher, b.coords, b.tileBounds).then(function (tile) {
          names.forEach(function (name) {
            var own = { layers: {} };
            if (tile.layers && tile.layers[name]) own.layers[name] = tile.layers[name];
            b.wanted[name].forEach(function (w) { w[0](own); });
          });
        }, function (err) {
          names.forEach(function (name) { b.wanted[name].forEach(function (w) { w[1](err); }); });
        });
      });
    }
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
