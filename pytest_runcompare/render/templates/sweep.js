// The sweep report: a sortable run table, a parallel-coordinates plot whose brushes
// filter the table, and a param-vs-metric scatter. Every string from a run goes in
// as text (textContent, setAttribute), never as markup.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("rc-sweep").textContent);
  var NS = "http://www.w3.org/2000/svg";
  var runs = data.runs; // index 0 is the baseline, then the candidates in order
  var cols = data.columns;
  var body = document.getElementById("run-body");
  var rowOf = {};
  Array.prototype.forEach.call(body.querySelectorAll("tr[data-i]"), function (tr) {
    rowOf[Number(tr.getAttribute("data-i")) + 1] = tr;
  });

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function label(name, attrs, text, parent) {
    var e = el(name, attrs, parent);
    e.textContent = text;
    return e;
  }
  function titled(e, text) { label("title", {}, text, e); return e; }
  function clipText(s, n) { return s.length > n ? s.slice(0, n - 1) + "…" : s; }

  // ---------------------------------------------------------------- scales
  function niceStep(span, count) {
    var raw = span / Math.max(1, count);
    var mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var f = raw / mag;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
  }
  function fmt(v, step) {
    if (v === 0) return "0";
    var a = Math.abs(v);
    if (a >= 1e6 || a < 1e-4) return v.toExponential(1);
    return v.toFixed(Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9))));
  }
  function fmtValue(col, v) {
    if (v === null || v === undefined) return "n/a";
    if (col.kind === "category") return col.categories[v];
    if (col.decimals !== undefined) return v.toFixed(col.decimals);
    var a = Math.abs(v);
    if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(2);
    return String(Number(v.toPrecision(4)));
  }
  // A scale maps a column's value to [lo, hi] pixels (lo = bottom of an axis).
  function scaleOf(col, lo, hi, naGap) {
    var vals = col.values.filter(function (v) { return v !== null && v !== undefined; });
    var s = { col: col, ticks: [], na: null };
    if (naGap && vals.length < col.values.length) s.na = lo + naGap; // missing values' place
    s.at = function (v) { return v === null || v === undefined ? s.na : s.f(v); };
    if (col.kind === "category") {
      var n = col.categories.length;
      s.f = function (v) { return n <= 1 ? (lo + hi) / 2 : lo + (hi - lo) * (v + 0.5) / n; };
      col.categories.forEach(function (c, i) { s.ticks.push({ v: i, text: c }); });
      return s;
    }
    if (!vals.length) { s.f = function () { return (lo + hi) / 2; }; return s; }
    var min = Math.min.apply(null, vals), max = Math.max.apply(null, vals);
    if (col.kind === "log") {
      var a = Math.log10(min), b = Math.log10(max), pad = (b - a) * 0.06;
      a -= pad; b += pad;
      s.f = function (v) { return lo + (hi - lo) * (Math.log10(v) - a) / (b - a); };
      for (var k = Math.ceil(a); k <= Math.floor(b); k++) {
        var t = Math.pow(10, k);
        s.ticks.push({ v: t, text: k >= 6 || k <= -5 ? "1e" + k : String(Number(t.toPrecision(1))) });
      }
      return s;
    }
    if (min === max) {
      var w = Math.abs(min) * 0.1 || 1;
      min -= w; max += w;
    }
    var step = niceStep(max - min, 5);
    if (vals.every(Number.isInteger)) step = Math.max(1, Math.round(step)); // counts, depths
    var a0 = Math.floor(min / step) * step, b0 = Math.ceil(max / step) * step;
    s.f = function (v) { return lo + (hi - lo) * (v - a0) / (b0 - a0); };
    for (var x = a0; x <= b0 + step / 2; x += step) {
      var tv = Math.abs(x) < step / 1e6 ? 0 : x;
      s.ticks.push({ v: tv, text: fmt(tv, step) });
    }
    return s;
  }

  // ---------------------------------------------------------------- filtering
  function axesOf(group) {
    return cols.filter(function (c) { return c.group === "param" || c.group === group; });
  }
  var brushes = {}; // axis key -> [ylow, yhigh] in plot pixels
  var visible = runs.map(function () { return true; });
  var listeners = [];
  var countEl = document.getElementById("run-count");
  var clearBtn = document.getElementById("clear-brushes");

  function applyFilter() {
    var keys = Object.keys(brushes);
    for (var i = 1; i < runs.length; i++) {
      var ok = true;
      for (var j = 0; j < keys.length && ok; j++) {
        var ax = pc.byKey[keys[j]], y = ax.scale.at(ax.col.values[i]), r = brushes[keys[j]];
        if (y === null) { ok = false; break; }
        ok = y >= r[0] - 0.5 && y <= r[1] + 0.5;
      }
      visible[i] = ok;
      if (rowOf[i]) rowOf[i].hidden = !ok;
    }
    var shown = visible.slice(1).filter(Boolean).length;
    countEl.textContent = shown + " of " + (runs.length - 1);
    clearBtn.disabled = keys.length === 0;
    listeners.forEach(function (f) { f(); });
  }
  clearBtn.addEventListener("click", function () {
    brushes = {};
    pc.drawBrushes();
    applyFilter();
  });

  // ---------------------------------------------------------------- parallel coordinates
  // Metric axes show each run's value ("metric") or its change against the baseline
  // ("change"); switching clears the brushes.
  function buildPC(group) {
    var axes = axesOf(group);
    var svg = document.getElementById("pc");
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var n = axes.length;
    var W = Math.max(960, 150 * n), H = 420, left = 70, right = 70, top = 58, bottom = H - 48;
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    var out = { byKey: {}, lines: {} };
    if (!n) {
      label("text", { x: 20, y: 40, class: "note" }, "No axis: no param varies and no metric is gated.", svg);
      out.drawBrushes = function () {};
      return out;
    }
    var gap = n > 1 ? (W - left - right) / (n - 1) : 0;
    var gLines = el("g", { class: "lines" }, svg);
    var gAxes = el("g", { class: "axes" }, svg);
    axes.forEach(function (col, k) {
      var x = n > 1 ? left + gap * k : W / 2;
      var ax = { col: col, x: x, scale: scaleOf(col, bottom, top, 22) };
      out.byKey[col.key] = ax;
      var g = el("g", { class: "axis", "data-key": col.key, "data-x": String(x) }, gAxes);
      ax.g = g;
      el("line", { class: "ax-line", x1: x, x2: x, y1: top, y2: bottom }, g);
      ax.scale.ticks.forEach(function (t) {
        var y = ax.scale.f(t.v);
        el("line", { class: "tickmark", x1: x - 4, x2: x, y1: y, y2: y }, g);
        titled(label("text", { class: "tick", x: x - 7, y: y + 3.5, "text-anchor": "end" }, clipText(t.text, 14), g), t.text);
      });
      if (ax.scale.na !== null) {
        el("line", { class: "tickmark", x1: x - 4, x2: x, y1: ax.scale.na, y2: ax.scale.na }, g);
        el("line", { class: "ax-line na", x1: x, x2: x, y1: ax.scale.na - 6, y2: ax.scale.na + 6 }, g);
        titled(label("text", { class: "tick", x: x - 7, y: ax.scale.na + 3.5, "text-anchor": "end" }, "n/a", g), "runs without this value");
      }
      var shown = col.axis || col.name;
      var name = titled(label("text", { class: "ax-name", x: x, y: 18, "text-anchor": "middle" }, clipText(shown, Math.max(8, Math.floor(gap / 7.2) || 22)), g), shown);
      name.setAttribute("data-full", shown);
      var kind = col.group === "param" ? "param" + (col.kind === "log" ? " · log" : "")
        : col.group === "change" ? "change · + = better" : col.hib ? "metric · ↑ better" : "metric · ↓ better";
      label("text", { class: "ax-kind", x: x, y: 33, "text-anchor": "middle" }, kind, g);
      ax.low = ax.scale.na === null ? bottom : ax.scale.na + 6;
      ax.hit = el("rect", { class: "ax-hit", x: x - 14, y: top - 6, width: 28, height: ax.low - top + 12 }, g);
      ax.brush = el("rect", { class: "brush", x: x - 9, y: 0, width: 18, height: 0, visibility: "hidden" }, g);
      titled(ax.brush, "click to clear this brush");
      g.addEventListener("mousedown", function (e) { startBrush(e, ax); });
    });
    // One path per run: the baseline last, so that it is drawn on top.
    var order = [];
    for (var i = 1; i < runs.length; i++) order.push(i);
    order.push(0);
    order.forEach(function (i) {
      var d = "", pen = "M";
      axes.forEach(function (col) {
        var ax = out.byKey[col.key], y = ax.scale.at(col.values[i]);
        if (y === null) { pen = "M"; return; }
        d += pen + ax.x.toFixed(1) + "," + y.toFixed(1);
        pen = "L";
      });
      var p = el("path", { class: "run " + runs[i].tone, d: d || "M0,0", "data-i": String(i) }, gLines);
      titled(p, (i === 0 ? "baseline: " : "") + runs[i].label);
      out.lines[i] = p;
      p.addEventListener("mouseenter", function () { hot(i, true); });
      p.addEventListener("mouseleave", function () { hot(i, false); });
      if (runs[i].href) p.addEventListener("click", function () { window.location.href = runs[i].href; });
    });

    function point(e) {
      var pt = svg.createSVGPoint();
      pt.x = e.clientX; pt.y = e.clientY;
      return pt.matrixTransform(svg.getScreenCTM().inverse());
    }
    function startBrush(e, ax) {
      e.preventDefault();
      var clamp = function (y) { return Math.max(top, Math.min(ax.low, y)); };
      var y0 = clamp(point(e).y), moved = false;
      function move(ev) {
        var y = clamp(point(ev).y);
        if (Math.abs(y - y0) < 3 && !moved) return;
        moved = true;
        brushes[ax.col.key] = [Math.min(y0, y), Math.max(y0, y)];
        drawBrushes();
        applyFilter();
      }
      function up() {
        document.removeEventListener("mousemove", move);
        document.removeEventListener("mouseup", up);
        if (!moved) delete brushes[ax.col.key]; // a click clears this axis's brush
        drawBrushes();
        applyFilter();
      }
      document.addEventListener("mousemove", move);
      document.addEventListener("mouseup", up);
    }
    function drawBrushes() {
      Object.keys(out.byKey).forEach(function (key) {
        var ax = out.byKey[key], r = brushes[key];
        if (r) {
          ax.brush.setAttribute("y", r[0].toFixed(1));
          ax.brush.setAttribute("height", (r[1] - r[0]).toFixed(1));
          ax.brush.setAttribute("visibility", "visible");
        } else {
          ax.brush.setAttribute("visibility", "hidden");
        }
      });
    }
    out.drawBrushes = drawBrushes;
    return out;
  }
  var pc = buildPC("metric");
  listeners.push(function () {
    for (var i = 1; i < runs.length; i++) {
      if (pc.lines[i]) pc.lines[i].classList.toggle("out", !visible[i]);
    }
  });
  document.getElementById("pc-mode").addEventListener("change", function (e) {
    brushes = {};
    pc = buildPC(e.target.value);
    applyFilter();
  });

  function hot(i, on) {
    if (pc.lines[i]) pc.lines[i].classList.toggle("hot", on);
    if (rowOf[i]) rowOf[i].classList.toggle("hot", on);
  }
  Object.keys(rowOf).forEach(function (i) {
    rowOf[i].addEventListener("mouseenter", function () { hot(Number(i), true); });
    rowOf[i].addEventListener("mouseleave", function () { hot(Number(i), false); });
  });

  // ---------------------------------------------------------------- scatter
  (function () {
    var svg = document.getElementById("sc");
    var sx = document.getElementById("sc-x"), sy = document.getElementById("sc-y");
    var W = 960, H = 420, left = 80, right = 30, top = 20, bottom = H - 56;
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    var xs = cols.filter(function (c) { return c.group === "param"; });
    var ys = cols.filter(function (c) { return c.group !== "param"; });
    if (!xs.length) xs = ys.filter(function (c) { return c.group === "metric"; });
    function option(select, col) {
      var o = document.createElement("option");
      o.value = col.key;
      o.textContent = (col.group === "param" ? "param " : "") + col.name;
      select.appendChild(o);
    }
    xs.forEach(function (c) { option(sx, c); });
    ys.forEach(function (c) { option(sy, c); });
    var ranking = ys.filter(function (c) { return c.group === "metric" && c.name === data.ranking; })[0];
    if (ranking) sy.value = ranking.key;
    var byKey = {};
    cols.forEach(function (c) { byKey[c.key] = c; });
    function draw() {
      while (svg.firstChild) svg.removeChild(svg.firstChild);
      var cx = byKey[sx.value], cy = byKey[sy.value];
      if (!cx || !cy) {
        label("text", { x: 20, y: 40, class: "note" }, "Nothing to plot: no param varies.", svg);
        return;
      }
      var fx = scaleOf(cx, left + 20, W - right - 10), fy = scaleOf(cy, bottom - 10, top + 10);
      el("line", { class: "ax-line", x1: left, x2: W - right, y1: bottom, y2: bottom }, svg);
      el("line", { class: "ax-line", x1: left, x2: left, y1: top, y2: bottom }, svg);
      fx.ticks.forEach(function (t) {
        var x = fx.f(t.v);
        el("line", { class: "grid", x1: x, x2: x, y1: top, y2: bottom }, svg);
        el("line", { class: "tickmark", x1: x, x2: x, y1: bottom, y2: bottom + 4 }, svg);
        titled(label("text", { class: "tick", x: x, y: bottom + 16, "text-anchor": "middle" }, clipText(t.text, 16), svg), t.text);
      });
      fy.ticks.forEach(function (t) {
        var y = fy.f(t.v);
        el("line", { class: "grid", x1: left, x2: W - right, y1: y, y2: y }, svg);
        el("line", { class: "tickmark", x1: left - 4, x2: left, y1: y, y2: y }, svg);
        label("text", { class: "tick", x: left - 7, y: y + 3.5, "text-anchor": "end" }, clipText(t.text, 12), svg);
      });
      label("text", { class: "ax-name", x: (left + W - right) / 2, y: H - 12, "text-anchor": "middle" }, clipText(cx.name, 110), svg);
      label("text", { class: "ax-name", x: 16, y: (top + bottom) / 2, "text-anchor": "middle", transform: "rotate(-90 16 " + (top + bottom) / 2 + ")" }, clipText(cy.name, 60), svg);
      var order = [];
      for (var i = 1; i < runs.length; i++) order.push(i);
      order.push(0);
      order.forEach(function (i) {
        var vx = cx.values[i], vy = cy.values[i];
        if (vx === null || vx === undefined || vy === null || vy === undefined) return;
        var jitter = cx.kind === "category" ? ((i * 37) % 11 - 5) * 1.6 : 0;
        var x = fx.f(vx) + jitter, y = fy.f(vy);
        var cls = "pt " + runs[i].tone + (i && !visible[i] ? " out" : "") + (runs[i].href ? " link" : "");
        var p = i === 0
          ? el("rect", { class: cls, x: x - 5.5, y: y - 5.5, width: 11, height: 11, transform: "rotate(45 " + x.toFixed(1) + " " + y.toFixed(1) + ")", "data-i": "0" }, svg)
          : el("circle", { class: cls, cx: x.toFixed(1), cy: y.toFixed(1), r: 5.5, "data-i": String(i) }, svg);
        titled(p, (i === 0 ? "baseline " : "") + runs[i].label + ": " + cx.name + " = " + fmtValue(cx, vx) + ", " + cy.name + " = " + fmtValue(cy, vy));
        if (runs[i].href) p.addEventListener("click", function () { window.location.href = runs[i].href; });
        if (i) {
          p.addEventListener("mouseenter", function () { hot(i, true); });
          p.addEventListener("mouseleave", function () { hot(i, false); });
        }
      });
    }
    sx.addEventListener("change", draw);
    sy.addEventListener("change", draw);
    listeners.push(draw);
    draw();
  })();

  // ---------------------------------------------------------------- sortable table
  var table = document.getElementById("run-table");
  var heads = table.querySelectorAll("thead th");
  Array.prototype.forEach.call(heads, function (th, index) {
    if (!th.classList.contains("sort")) return;
    th.addEventListener("click", function () {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var rows = Array.prototype.slice.call(body.querySelectorAll("tr[data-i]"));
      var key = function (tr) { return tr.children[index].getAttribute("data-v") || ""; };
      var numeric = rows.every(function (tr) { var v = key(tr); return v === "" || !isNaN(Number(v)); });
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === "" || y === "") return x === y ? 0 : x === "" ? 1 : -1; // missing last
        var c = numeric ? Number(x) - Number(y) : x < y ? -1 : x > y ? 1 : 0;
        return (asc ? c : -c) || Number(a.getAttribute("data-i")) - Number(b.getAttribute("data-i"));
      });
      rows.forEach(function (tr) { body.appendChild(tr); });
    });
  });
  applyFilter();
  document.documentElement.setAttribute("data-ready", "1");
})();
