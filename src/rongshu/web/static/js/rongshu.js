/*
 * rongshu web shell: the little JavaScript the pages use. Pages work without it;
 * this adds the CSRF header to htmx requests and draws ECharts charts.
 *
 * Charts: an element with data-chart="<JSON url>" becomes a chart. Attributes:
 *   data-chart-type     bar (default) or line
 *   data-chart-x        key of the category list in the JSON (default "x")
 *   data-chart-y        key of the value list in the JSON (default "y")
 *   data-chart-series   name of the series (shown in the tooltip)
 *   data-chart-title    title drawn on the chart
 *   data-chart-error    text shown when the data cannot be loaded
 *   data-chart-refresh  seconds between reloads of the data (optional)
 * A visually hidden table with the same figures is added for screen readers.
 */
(function () {
  "use strict";

  var BLUE = "#0b4a8b";
  var INK = "#1a1f26";
  var MUTED = "#4a5563";
  var LINE = "#c9d1db";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function pageLanguage() {
    return document.documentElement.getAttribute("lang") || "zh-CN";
  }

  // Every htmx request carries the session's CSRF token; the server refuses unsafe
  // cookie-authenticated requests without it.
  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token) {
      event.detail.headers["X-CSRF-Token"] = token;
    }
  });

  // Search forms marked data-omit-empty leave blank fields out of the URL, so the server
  // never sees "since=" and links stay short. The fields are re-enabled right after the
  // browser has read the form, so going back shows them as they were.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-omit-empty")) {
      return;
    }
    var blanks = Array.prototype.filter.call(form.elements, function (field) {
      return field.name && !field.disabled && field.value === "" && field.type !== "submit";
    });
    blanks.forEach(function (field) {
      field.disabled = true;
    });
    window.setTimeout(function () {
      blanks.forEach(function (field) {
        field.disabled = false;
      });
    }, 0);
  });

  function baseFontSize(element) {
    var size = parseFloat(window.getComputedStyle(element).fontSize);
    return isNaN(size) ? 16 : size;
  }

  function chartOption(element, data) {
    var xKey = element.getAttribute("data-chart-x") || "x";
    var yKey = element.getAttribute("data-chart-y") || "y";
    var type = element.getAttribute("data-chart-type") === "line" ? "line" : "bar";
    var title = element.getAttribute("data-chart-title") || "";
    var font = baseFontSize(element);
    var small = Math.round(font * 0.85);
    return {
      animation: !window.matchMedia("(prefers-reduced-motion: reduce)").matches,
      textStyle: { fontFamily: window.getComputedStyle(element).fontFamily, color: INK },
      title: title
        ? { text: title, left: 0, top: 0, textStyle: { fontSize: font, fontWeight: "bold", color: INK } }
        : undefined,
      grid: { left: font * 3, right: font, top: title ? font * 3 : font, bottom: font * 2.5 },
      tooltip: { trigger: "axis", textStyle: { fontSize: small } },
      xAxis: {
        type: "category",
        data: data[xKey] || [],
        axisLabel: { color: MUTED, fontSize: small },
        axisLine: { lineStyle: { color: LINE } },
      },
      yAxis: {
        type: "value",
        minInterval: 1,
        axisLabel: { color: MUTED, fontSize: small },
        splitLine: { lineStyle: { color: LINE, type: "dashed" } },
      },
      series: [
        {
          name: element.getAttribute("data-chart-series") || "",
          type: type,
          data: data[yKey] || [],
          itemStyle: { color: BLUE },
          barMaxWidth: 28,
        },
      ],
    };
  }

  function describeForScreenReaders(element, data) {
    var xKey = element.getAttribute("data-chart-x") || "x";
    var yKey = element.getAttribute("data-chart-y") || "y";
    var labels = data[xKey] || [];
    var values = data[yKey] || [];
    // A table ignores a 1px height, so the hidden wrapper is a block around it.
    var holder = element.nextElementSibling;
    if (!holder || !holder.classList.contains("chart-table")) {
      holder = document.createElement("div");
      holder.className = "chart-table visually-hidden";
      element.insertAdjacentElement("afterend", holder);
    }
    holder.textContent = "";
    var table = document.createElement("table");
    holder.appendChild(table);
    var caption = table.createCaption();
    caption.textContent = element.getAttribute("data-chart-title") || "";
    var body = table.createTBody();
    for (var i = 0; i < labels.length; i++) {
      var row = body.insertRow();
      var head = document.createElement("th");
      head.scope = "row";
      head.textContent = labels[i];
      row.appendChild(head);
      row.insertCell().textContent = String(values[i] === undefined ? "" : values[i]);
    }
  }

  function showChartError(element) {
    element.textContent = "";
    var message = document.createElement("p");
    message.className = "chart-placeholder muted";
    message.textContent = element.getAttribute("data-chart-error") || "";
    element.appendChild(message);
  }

  function loadChart(element) {
    var url = element.getAttribute("data-chart");
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        var chart = window.echarts.getInstanceByDom(element);
        if (!chart) {
          element.textContent = "";
          chart = window.echarts.init(element, null, {
            renderer: "canvas",
            locale: pageLanguage() === "en" ? "EN" : "ZH",
          });
        }
        // "ready" once drawn, animation included, so a screenshot shows the real bars.
        chart.off("finished");
        chart.on("finished", function () {
          element.setAttribute("data-chart-ready", "true");
        });
        chart.setOption(chartOption(element, data), true);
        describeForScreenReaders(element, data);
      })
      .catch(function () {
        var chart = window.echarts && window.echarts.getInstanceByDom(element);
        if (chart) {
          chart.dispose();
        }
        showChartError(element);
      });
  }

  function initCharts(root) {
    if (!window.echarts || typeof window.fetch !== "function") {
      return;
    }
    var scope = root && root.querySelectorAll ? root : document;
    var elements = Array.prototype.slice.call(scope.querySelectorAll("[data-chart]"));
    if (scope.matches && scope.matches("[data-chart]")) {
      elements.push(scope);
    }
    elements.forEach(function (element) {
      if (element.getAttribute("data-chart-started") === "true") {
        return;
      }
      element.setAttribute("data-chart-started", "true");
      loadChart(element);
      var seconds = parseInt(element.getAttribute("data-chart-refresh") || "", 10);
      if (seconds > 0) {
        var timer = window.setInterval(function () {
          if (!document.body.contains(element)) {
            window.clearInterval(timer);
            return;
          }
          if (!document.hidden) {
            loadChart(element);
          }
        }, seconds * 1000);
      }
    });
  }

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(function () {
      if (!window.echarts) {
        return;
      }
      document.querySelectorAll("[data-chart-ready]").forEach(function (element) {
        var chart = window.echarts.getInstanceByDom(element);
        if (chart) {
          chart.resize();
        }
      });
    }, 150);
  });

  function start() {
    if (window.htmx && typeof window.htmx.onLoad === "function") {
      // Runs for the page and for every piece of content htmx swaps in later.
      window.htmx.onLoad(initCharts);
    } else {
      initCharts(document);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
