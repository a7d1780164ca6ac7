/* Land Window pages: the warning before the login ends, the intake form's draft kept in this tab, the checklist and
   fields of the chosen kind. Texts come from the page (data- attributes, in the reader's language). */
(function () {
  "use strict";
  var PREFIX = "lw-intake-draft";
  var DRAFT = PREFIX;  // + ":" + the clerk's username on the intake page: one clerk's draft never fills another's form
  var WARN_BEFORE_S = 5 * 60;

  function beijing(epochSeconds) {
    return new Intl.DateTimeFormat("zh-CN", {
      timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", hour12: false
    }).format(new Date(epochSeconds * 1000));
  }

  /* --- the login's end: warn five minutes before; once over, say the draft is kept ------------------------------ */
  function watchSession() {
    var ends = parseInt(document.body.dataset.sessionEnds || "", 10);
    var box = document.getElementById("session-warning");
    if (!ends || !box) return;
    function show(expired) {
      var text = (expired ? box.dataset.expired : box.dataset.warn).replace("{time}", beijing(ends));
      box.textContent = text + " ";
      var a = document.createElement("a");
      a.href = box.dataset.loginHref;
      a.textContent = box.dataset.login;
      if (!expired) a.target = "_blank";  // log in again beside this page: what is typed here stays
      box.appendChild(a);
      box.hidden = false;
      box.classList.toggle("expired", expired);
    }
    function tick() {
      var left = ends - Date.now() / 1000;
      if (left <= 0) { show(true); return; }
      if (left <= WARN_BEFORE_S) show(false);
      setTimeout(tick, Math.min(30000, Math.max(1000, (left - WARN_BEFORE_S) * 1000)));
    }
    tick();
  }

  /* --- the fields and checklist of the chosen kind ---------------------------------------------------------------- */
  function showKind(form) {
    var select = form.querySelector("select[name=kind]");
    if (!select) return;
    var kind = select.value;
    form.querySelectorAll("[data-kinds]").forEach(function (el) {
      var on = el.dataset.kinds.split(" ").indexOf(kind) >= 0;
      el.hidden = !on;
      el.querySelectorAll("input, select, textarea").forEach(function (i) { i.disabled = !on; });
    });
  }

  /* --- the intake draft: every field saved in this tab as it is typed, restored after a new login -------------- */
  function fields(form) {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.type === "file" || el.name === "csrf_token" || el.disabled) return;
      if (el.type === "checkbox" || el.type === "radio") {
        if (!(el.name in out)) out[el.name] = [];
        if (el.checked) out[el.name].push(el.value);
      } else {
        out[el.name] = el.value;
      }
    });
    return out;
  }

  function save(form) {
    try {
      sessionStorage.setItem(DRAFT, JSON.stringify({ at: Date.now(), fields: fields(form) }));
    } catch (e) { /* a kept file too large for the tab's storage: the typed fields are saved without it */
      var f = fields(form);
      delete f.boundary_kept;
      try { sessionStorage.setItem(DRAFT, JSON.stringify({ at: Date.now(), fields: f })); } catch (e2) { /* full */ }
    }
  }

  function restore(form, draft) {
    var f = draft.fields || {};
    if (f.kind) { form.querySelector("select[name=kind]").value = f.kind; showKind(form); }
    Object.keys(f).forEach(function (name) {
      var els = form.querySelectorAll("[name='" + name.replace(/'/g, "") + "']");
      els.forEach(function (el) {
        if (el.type === "file" || el.name === "csrf_token") return;
        if (el.type === "checkbox" || el.type === "radio") el.checked = (f[name] || []).indexOf(el.value) >= 0;
        else el.value = f[name];
      });
    });
    var map = window.landwindowMap, drawn = f.boundary_geojson;
    if (map && drawn && window.L) {
      try {
        var layer = L.geoJSON(JSON.parse(drawn), { style: { color: "#1F5FBF", weight: 3, fillOpacity: 0.06 } });
        layer.addTo(map);
        var fit = function () { map.fitBounds(layer.getBounds().pad(0.5), { animate: false }); };
        // the page's own framing on the county may still be zooming: its end would undo a frame set now
        if (map._animatingZoom) map.once("zoomend", fit); else fit();
      } catch (e) { /* a damaged draft geometry: the clerk draws again */ }
    }
    var note = document.getElementById("draft-restored");
    if (note) note.hidden = false;
  }

  function intake() {
    var form = document.getElementById("intake-form");
    if (!form) return;
    DRAFT = DRAFT + ":" + (form.dataset.user || "");
    var select = form.querySelector("select[name=kind]");
    if (select) select.addEventListener("change", function () { showKind(form); });
    showKind(form);
    if (form.dataset.fresh === "1") {
      var raw = sessionStorage.getItem(DRAFT);
      if (raw) { try { restore(form, JSON.parse(raw)); } catch (e) { sessionStorage.removeItem(DRAFT); } }
    }
    form.addEventListener("input", function () { save(form); });
    form.addEventListener("change", function (e) {
      // a polygon drawn after a file was checked replaces the file
      if (e.target && e.target.id === "boundary_geojson" && e.target.value) {
        var kept = form.querySelector("input[name=boundary_kept]"), name = form.querySelector("input[name=boundary_name]");
        if (kept) kept.value = "";
        if (name) name.value = "";
        var shown = document.getElementById("boundary-file-name");
        if (shown) shown.hidden = true;
      }
      save(form);
    });
    form.addEventListener("submit", function () { save(form); });
    var clear = document.getElementById("draft-clear");
    if (clear) clear.addEventListener("click", function () { sessionStorage.removeItem(DRAFT); window.location.href = form.action; });
  }

  function applyForm() {
    // the online application: the kind's own fields and checklist; a polygon drawn replaces a boundary file kept
    var form = document.getElementById("apply-form");
    if (!form) return;
    var select = form.querySelector("select[name=kind]");
    if (select) select.addEventListener("change", function () { showKind(form); });
    showKind(form);
    form.addEventListener("change", function (e) {
      if (e.target && e.target.id === "boundary_geojson" && e.target.value) {
        form.querySelector("input[name=boundary_kept]").value = "";
        form.querySelector("input[name=boundary_name]").value = "";
        var shown = document.getElementById("boundary-file-name");
        if (shown) shown.hidden = true;
      }
    });
  }

  function foldLayersOnPhones() {
    // the public pages' maps on a phone: the layer list would cover half the plot, so it starts folded
    if (!document.querySelector("main.fold-layers") || !window.matchMedia("(max-width: 760px)").matches) return;
    document.querySelectorAll(".leaflet-control-layers").forEach(function (c) {
      c.classList.remove("leaflet-control-layers-expanded");
      c.closest(".leaflet-container").addEventListener("click", function (e) {
        if (!c.contains(e.target)) c.classList.remove("leaflet-control-layers-expanded");
      });
    });
  }

  function forgetDrafts() {
    Object.keys(sessionStorage).forEach(function (k) { if (k.indexOf(PREFIX) === 0) sessionStorage.removeItem(k); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (document.body.dataset.intakeDone) forgetDrafts();  // the case was taken in
    var logout = document.querySelector("form[action='/logout']");
    if (logout) logout.addEventListener("submit", forgetDrafts);  // logging out leaves nothing typed behind
    watchSession();
    intake();
    applyForm();
    foldLayersOnPhones();
  });
})();
