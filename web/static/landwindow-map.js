/* Land Window map helpers: layer styles, feature popups and the drawn-boundary hand-off. Served locally. */
(function () {
  "use strict";
  var LW = (window.LW = window.LW || {});
  LW.landuseColors = LW.landuseColors || {};

  LW.landuseFill = function (code) {
    code = String(code || "");
    return LW.landuseColors[code.slice(0, 4)] || LW.landuseColors[code.slice(0, 2)] || "#dddddd";
  };

  var LINE = {
    parcels: { color: "#444", weight: 0.6, fill: false },
    basic_farmland: { color: "#b59b00", weight: 1.2, fill: true, fillColor: "#f2d024", fillOpacity: 0.25, dashArray: "4 2" },
    eco_redline: { color: "#d7191c", weight: 2.2, fill: true, fillColor: "#d7191c", fillOpacity: 0.08 },
    urban_boundary: { color: "#7b3294", weight: 2, fill: false, dashArray: "8 4" },
    village_boundary: { color: "#e66101", weight: 1.6, fill: true, fillColor: "#fdb863", fillOpacity: 0.2 },
    mining_rights: { color: "#6b3e26", weight: 1.6, fill: true, fillColor: "#a6611a", fillOpacity: 0.35 },
    land_price_zones: { color: "#555", weight: 1.4, fill: false, dashArray: "2 4" },
    townships: { color: "#111", weight: 2.4, fill: false },
  };

  LW.style = function (layer) {
    if (layer === "landuse") {
      return function (props) {
        return { fill: true, fillColor: LW.landuseFill(props.dlbm), fillOpacity: 0.75, color: "#ffffff", weight: 0.4 };
      };
    }
    return LINE[layer] || { color: "#333", weight: 1 };
  };

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
