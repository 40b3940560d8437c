/* The portal's few behaviours on top of htmx (loaded after it, deferred). Every page works without it.
 *
 * 1. While an htmx request runs: its buttons are disabled (a second click sends nothing twice), its
 *    target is aria-busy, <html> has the class portal-busy (a bar at the top, see portal.css), and a
 *    polite live region says "Loading…" when it takes longer than a moment. One global listener instead
 *    of hx-disabled-elt on each element: an inherited hx-disabled-elt="this" would name the element
 *    holding the attribute (the body), not the one sending.
 * 2. A checkbox with data-select-all="NAME" ticks every checkbox NAME of its form, and shows
 *    indeterminate while only some are ticked.
 * 3. A form with data-require-checked="NAME" is not sent while no checkbox NAME is ticked: it shows
 *    its data-require-message in its [data-require-alert] (role=alert). The server checks it too.
 * 4. A page opened at a #fragment stays there (below).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var loadingText = (script && script.getAttribute("data-loading")) || "Loading…";
  var running = 0;
  var announceTimer = null;
  var status = null;

  function statusRegion() {
    if (!status && document.body) {
      status = document.createElement("div");
      status.className = "visually-hidden";
      status.id = "portal-status";
      status.setAttribute("role", "status");
      status.setAttribute("aria-live", "polite");
      document.body.appendChild(status);
      var bar = document.createElement("div");
      bar.className = "portal-busy-bar";
      bar.setAttribute("aria-hidden", "true");
      document.body.appendChild(bar);
    }
    return status;
  }

  function buttonsOf(elt) {
    if (!elt || elt === document.body || elt === document.documentElement) return [];
    if (elt.tagName === "FORM") {
      return Array.prototype.filter.call(elt.elements, function (e) {
        return e.tagName === "BUTTON" || (e.tagName === "INPUT" && /^(submit|button|reset|image)$/i.test(e.type));
      });
    }
    if (elt.tagName === "BUTTON" || (elt.tagName === "INPUT" && /^(submit|button|image)$/i.test(elt.type))) return [elt];
    if (elt.tagName === "INPUT" || elt.tagName === "SELECT" || elt.tagName === "TEXTAREA") return [];
    return Array.prototype.slice.call(elt.querySelectorAll("button, input[type=submit]"));
  }

  function started(evt) {
    var detail = evt.detail || {};
    var xhr = detail.xhr;
    if (!xhr || xhr.portalBusy) return;
    // a poll ("every 3s") or a part loaded after the page ("load") is not the person waiting: no bar, nothing said
    var trigger = (detail.elt && detail.elt.getAttribute && detail.elt.getAttribute("hx-trigger")) || "";
    if (/(^|[\s,])(every|load)\b/.test(trigger)) return;
    var focused = document.activeElement;
    var disabled = buttonsOf(detail.elt).filter(function (b) { return !b.disabled; });
    disabled.forEach(function (b) { b.disabled = true; b.setAttribute("data-portal-disabled", ""); });
    var target = detail.target && detail.target !== document.body ? detail.target : null;
    if (target) target.setAttribute("aria-busy", "true");
    xhr.portalBusy = true;
    running += 1;
    document.documentElement.classList.add("portal-busy");
    if (!announceTimer) {
      announceTimer = window.setTimeout(function () {
        var region = statusRegion();
        if (running > 0 && region) region.textContent = loadingText;
      }, 400);
    }
    xhr.addEventListener("loadend", function () {
      if (xhr.getResponseHeader && xhr.getResponseHeader("HX-Redirect")) return; // the page is leaving: stay busy
      disabled.forEach(function (b) { b.disabled = false; b.removeAttribute("data-portal-disabled"); });
      // disabling the focused button dropped the focus on the body: give it back, if the button is still there
      if (focused && disabled.indexOf(focused) >= 0 && focused.isConnected &&
          (document.activeElement === document.body || document.activeElement === null)) focused.focus();
      if (target) target.removeAttribute("aria-busy");
      running = Math.max(0, running - 1);
      if (running === 0) {
        document.documentElement.classList.remove("portal-busy");
        window.clearTimeout(announceTimer);
        announceTimer = null;
        if (status) status.textContent = "";
      }
    });
  }

  function boxesOf(form, name) {
    if (!form) return [];
    return Array.prototype.filter.call(form.elements, function (e) {
      return e.type === "checkbox" && e.name === name && !e.hasAttribute("data-select-all");
    });
  }

  function syncSelectAll() {
    document.querySelectorAll("input[type=checkbox][data-select-all]").forEach(function (all) {
      var boxes = boxesOf(all.form, all.getAttribute("data-select-all"));
      var ticked = boxes.filter(function (b) { return b.checked; }).length;
      all.hidden = boxes.length === 0;
      all.checked = boxes.length > 0 && ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    });
  }

  document.addEventListener("change", function (evt) {
    var box = evt.target;
    if (!box || box.type !== "checkbox") return;
    if (box.hasAttribute("data-select-all")) {
      boxesOf(box.form, box.getAttribute("data-select-all")).forEach(function (b) { b.checked = box.checked; });
    }
    syncSelectAll();
    var form = box.form;
    if (form && form.hasAttribute("data-require-checked") && box.checked) {
      var alert = form.querySelector("[data-require-alert]");
      if (alert && alert.getAttribute("data-shown-by-script") !== null) { alert.textContent = ""; alert.removeAttribute("data-shown-by-script"); }
    }
  });

  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-require-checked")) return;
    var ticked = boxesOf(form, form.getAttribute("data-require-checked")).some(function (b) { return b.checked; });
    if (ticked) return;
    evt.preventDefault();
    var alert = form.querySelector("[data-require-alert]");
    if (alert) {
      alert.textContent = "";
      // a new text in the role=alert region is what a screen reader announces (the same text again would not be)
      window.setTimeout(function () {
        alert.textContent = form.getAttribute("data-require-message");
        alert.setAttribute("data-shown-by-script", "");
      }, 50);
    }
  }, true);

  // 4. A page opened at #fragment (a refused bulk action: #bulk-error, the bar's message, which the browser
  //    focuses) stays there while parts loaded after it (the worklist's groups) grow the page above.
  var anchor = null;
  var moved = false;
  function keepAnchor() {
    if (anchor && !moved && anchor.isConnected) anchor.scrollIntoView({ block: "start" });  // where the browser put it
  }
  function openAtAnchor() {
    anchor = location.hash.length > 1 ? document.getElementById(decodeURIComponent(location.hash.slice(1))) : null;
    if (!anchor) return;
    ["wheel", "touchmove", "keydown", "mousedown"].forEach(function (name) {
      window.addEventListener(name, function () { moved = true; }, { once: true, passive: true });
    });
    keepAnchor();
  }

  document.addEventListener("htmx:beforeRequest", started);
  document.addEventListener("htmx:afterSettle", keepAnchor);
  document.addEventListener("htmx:afterSettle", function () { syncSelectAll(); });  // the whole page: an outerHTML swap may name the old element
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { statusRegion(); syncSelectAll(); openAtAnchor(); });
  } else {
    statusRegion();
    syncSelectAll();
    openAtAnchor();
  }
})();
