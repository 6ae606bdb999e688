/*
 * The open-data portal's small helpers; every page works without them.
 *
 * - form[data-autosubmit]: a change of one of its selects submits the form (the chart's
 *   column choice), and its plain submit button (.od-no-js) is hidden.
 * - .od-code > button.od-copy: copies the code example beside it to the clipboard and says so
 *   (the button stays hidden where the clipboard cannot be used).
 */
(function () {
  "use strict";

  function autosubmit(root) {
    root.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
      form.querySelectorAll(".od-no-js").forEach(function (button) {
        button.hidden = true;
      });
      form.addEventListener("change", function (event) {
        if (event.target instanceof HTMLSelectElement) {
          form.submit();
        }
      });
    });
  }

  function copyButtons(root) {
    if (!navigator.clipboard || typeof navigator.clipboard.writeText !== "function") {
      return;
    }
    root.querySelectorAll(".od-code").forEach(function (block) {
      var button = block.querySelector("button.od-copy");
      var code = block.querySelector("pre code");
      if (!button || !code) {
        return;
      }
      var label = button.textContent;
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(code.textContent || "").then(function () {
          button.textContent = button.getAttribute("data-copied") || label;
          button.setAttribute("aria-live", "polite");
          window.setTimeout(function () {
            button.textContent = label;
          }, 2000);
        });
      });
    });
  }

  function start() {
    autosubmit(document);
    copyButtons(document);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
