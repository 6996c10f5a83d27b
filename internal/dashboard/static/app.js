// Tollgate dashboard: small enhancements only. Every page works without
// this file; it adds copy-to-clipboard, chart tooltips, and forgets a shown
// secret when the page is left.
(function () {
  "use strict";

  function status(msg) {
    var el = document.getElementById("copy-status");
    if (el) {
      el.textContent = msg;
      el.classList.add("copied");
    }
  }

  function copy(button) {
    var target = document.getElementById(button.getAttribute("data-copy"));
    if (!target) return;
    var text = target.value || target.textContent;
    var done = function () {
      button.setAttribute("data-copied", "true");
      button.textContent = button.getAttribute("data-copied-label") || "Copied";
      status("Copied to the clipboard.");
    };
    var fallback = function () {
      target.focus();
      if (target.select) target.select();
      try {
        if (document.execCommand("copy")) { done(); return; }
      } catch (e) { /* fall through */ }
      status("Select the text and press Ctrl+C (⌘C on a Mac) to copy it.");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, fallback);
    } else {
      fallback();
    }
  }

  document.addEventListener("click", function (ev) {
    var b = ev.target.closest && ev.target.closest("[data-copy]");
    if (b) {
      ev.preventDefault();
      copy(b);
    }
  });

  // A secret shown once must not come back from the back/forward cache:
  // when the page is left, it is removed from the document (the value and
  // the attribute the server sent).
  function forgetSecrets() {
    var secrets = document.querySelectorAll("input.secret");
    for (var i = 0; i < secrets.length; i++) {
      secrets[i].value = "";
      secrets[i].removeAttribute("value");
      secrets[i].setAttribute("placeholder", "Shown only once: no longer available");
      secrets[i].disabled = true;
    }
    var buttons = document.querySelectorAll("[data-copy]");
    for (var j = 0; j < buttons.length; j++) buttons[j].disabled = true;
  }
  window.addEventListener("pagehide", forgetSecrets);

  // Chart tooltips: the SVG carries a <title> per bar (a native tooltip
  // without JavaScript); this shows it at once, and for keyboard focus too.
  var tip = null;
  function showTip(el, x, y) {
    var t = el.getAttribute("data-tip");
    if (!t) return;
    if (!tip) {
      tip = document.createElement("div");
      tip.className = "chart-tip";
      tip.setAttribute("role", "tooltip");
      document.body.appendChild(tip);
    }
    tip.textContent = t;
    tip.hidden = false;
    var w = tip.offsetWidth;
    tip.style.left = Math.max(4, Math.min(x + 12, window.innerWidth - w - 4)) + "px";
    tip.style.top = Math.max(4, y - tip.offsetHeight - 10) + "px";
  }
  function hideTip() { if (tip) tip.hidden = true; }
  document.addEventListener("mousemove", function (ev) {
    var el = ev.target.closest && ev.target.closest("[data-tip]");
    if (el) showTip(el, ev.clientX, ev.clientY); else hideTip();
  });
  document.addEventListener("focusin", function (ev) {
    var el = ev.target.closest && ev.target.closest("[data-tip]");
    if (!el) { hideTip(); return; }
    var r = el.getBoundingClientRect();
    showTip(el, r.left + r.width / 2, r.top);
  });
  document.addEventListener("focusout", hideTip);
})();
