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
