(function () {
  "use strict";
  // Strings from the runs only ever reach the page through textContent and
  // attribute values set with setAttribute on non-event attributes: never markup.
  var PAGE = 50;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function fmt(x) {
    if (x === null || x === undefined) return "\u2014";
    if (x === 0) return "0";
    var a = Math.abs(x);
    if (a >= 1e6 || a < 1e-4) return x.toExponential(3);
    return String(Number(x.toPrecision(4)));
  }

  function signed(x) {
    if (x === null || x === undefined) return "\u2014";
    if (x > 0) return "+" + fmt(x);
    if (x < 0) return "\u2212" + fmt(-x);
    return "0";
  }

  // ---------------------------------------------------------------- sortable tables
  function cellValue(td) {
    var v = td.getAttribute("data-v");
    if (v !== null) return v === "" ? null : parseFloat(v);
    return td.textContent.trim().toLowerCase();
  }

  function makeSortable(table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, col) {
      th.classList.add("sort");
      th.setAttribute("tabindex", "0");
      function sort() {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r1, r2) {
          var a = cellValue(r1.cells[col]), b = cellValue(r2.cells[col]);
          if (a === null && b === null) return 0;
          if (a === null) return 1;  // missing values last either way
          if (b === null) return -1;
          var c = a < b ? -1 : a > b ? 1 : 0;
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") sort(); });
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), makeSortable);

  // ---------------------------------------------------------------- lineage, steps
  var onlyChanged = document.getElementById("lineage-changed");
  var lineage = document.getElementById("lineage-table");
  if (onlyChanged && lineage) {
    onlyChanged.addEventListener("change", function () {
      lineage.classList.toggle("only-changed", onlyChanged.checked);
    });
  }
  var stepSelect = document.getElementById("step-select");
  if (stepSelect) {
    var panels = document.querySelectorAll(".step-panel");
    var showStep = function () {
      Array.prototype.forEach.call(panels, function (p) {
        p.hidden = p.getAttribute("data-step-index") !== stepSelect.value;
      });
    };
    stepSelect.addEventListener("change", showStep);
    showStep();
  }

  // ---------------------------------------------------------------- explorer
  var D = JSON.parse(document.getElementById("rc-data").textContent);
  var n = D.ids.length;
  var detailOf = new Int32Array(n).fill(-1);
  D.details.forEach(function (d, k) { detailOf[d.row] = k; });
  var outputText = D.details.map(function (d) {
    if (d.seg) return d.seg.map(function (s) { return s[1]; }).join("\n").toLowerCase();
    return String(d.old || d.new || "").toLowerCase();
  });

  var fMetric = document.getElementById("f-metric");
  var fStatus = document.getElementById("f-status");
  var fChanged = document.getElementById("f-changed");
  var fSort = document.getElementById("f-sort");
  var fSearch = document.getElementById("f-search");
  var fCount = document.getElementById("f-count");
  var body = document.getElementById("explorer-body");
  var pInfo = document.getElementById("p-info");
  var page = 0, rows = [], current = -1, plain = false;

  D.metrics.forEach(function (m) {
    var o = el("option", null, m.name + (m.gated ? " (gated)" : ""));
    o.value = m.name;
    fMetric.appendChild(o);
  });
  if (D.default_metric !== null) fMetric.value = D.default_metric;

  function metric() {
    for (var k = 0; k < D.metrics.length; k++) if (D.metrics[k].name === fMetric.value) return D.metrics[k];
    return null;
  }

  function delta(m, r) {
    if (!m) return null;
    var a = D.old[m.name][r], b = D.new[m.name][r];
    return a === null || b === null ? null : b - a;
  }

  function applyFilters() {
    var m = metric();
    var status = fStatus.value, onlyChanged = fChanged.checked;
    var q = fSearch.value.trim().toLowerCase();
    var st = m ? D.status[m.name] : "";
    var out = [];
    for (var r = 0; r < n; r++) {
      if (status === "new" && D.kind[r] !== 1) continue;
      if (status === "old" && D.kind[r] !== 2) continue;
      if ((status === "i" || status === "d" || status === "u") && st.charAt(r) !== status) continue;
      if (onlyChanged && !D.changed[r]) continue;
      if (q) {
        var hit = D.ids[r].toLowerCase().indexOf(q) >= 0;
        if (!hit && detailOf[r] >= 0) hit = outputText[detailOf[r]].indexOf(q) >= 0;
        if (!hit) continue;
      }
      out.push(r);
    }
    var sort = fSort.value, sign = m && !m.hib ? -1 : 1;
    var key = new Float64Array(n);
    out.forEach(function (r) {
      var d = delta(m, r);
      if (d === null) { key[r] = Infinity; return; }
      if (sort === "abs") key[r] = -Math.abs(d);
      else if (sort === "worst") key[r] = sign * d;
      else if (sort === "best") key[r] = -sign * d;
    });
    if (sort === "id") {
      out.sort(function (a, b) { return D.ids[a] < D.ids[b] ? -1 : D.ids[a] > D.ids[b] ? 1 : a - b; });
    } else {
      out.sort(function (a, b) { return key[a] - key[b] || a - b; });
    }
    rows = out;
    page = 0;
    render();
  }

  var STATUS = { i: "improved", d: "regressed", u: "unchanged", "-": "\u2014" };

  function render() {
    var m = metric();
    var st = m ? D.status[m.name] : "";
    body.textContent = "";
    var start = page * PAGE, stop = Math.min(rows.length, start + PAGE);
    for (var k = start; k < stop; k++) {
      var r = rows[k];
      var tr = el("tr", r === current ? "open" : null);
      tr.setAttribute("data-row", String(r));
      tr.tabIndex = 0;
      tr.appendChild(el("td", "id", D.ids[r]));
      var kindText = D.kind[r] === 1 ? "new only" : D.kind[r] === 2 ? "old only" : STATUS[st.charAt(r)] || "\u2014";
      var s = el("td");
      s.appendChild(el("span", "chip " + (D.kind[r] ? "k" + D.kind[r] : "s-" + (st.charAt(r) === "-" ? "none" : st.charAt(r))), kindText));
      tr.appendChild(s);
      tr.appendChild(el("td", "num", m ? fmt(D.old[m.name][r]) : ""));
      tr.appendChild(el("td", "num", m ? fmt(D.new[m.name][r]) : ""));
      var d = delta(m, r);
      var good = d === null || d === 0 ? "same" : (d > 0) === (m && m.hib) ? "better" : "worse";
      var dc = el("td", "num");
      dc.appendChild(el("span", "trend " + good, signed(d)));
      tr.appendChild(dc);
      var oc = el("td", "snippet");
      if (D.changed[r]) oc.appendChild(el("span", "chip changed", "changed"));
      var k2 = detailOf[r];
      if (k2 >= 0) {
        var det = D.details[k2];
        var text = det.seg ? det.seg.filter(function (x) { return x[0] !== "-"; }).map(function (x) { return x[1]; }).join("") : (det.new || det.old || "");
        oc.appendChild(el("span", "snip", text.slice(0, 120)));
      } else {
        oc.appendChild(el("span", "dim", "output not embedded"));
      }
      tr.appendChild(oc);
      body.appendChild(tr);
    }
    var pages = Math.max(1, Math.ceil(rows.length / PAGE));
    pInfo.textContent = rows.length ? "page " + (page + 1) + " of " + pages : "no datapoint matches";
    fCount.textContent = rows.length + " of " + n + " datapoints";
    document.getElementById("p-prev").disabled = page === 0;
    document.getElementById("p-next").disabled = page >= pages - 1;
  }

  function fillDiff(target, det, side) {
    target.textContent = "";
    if (!det) {
      target.appendChild(el("span", "dim", "output not embedded: beyond the " + D.max_outputs + " most changed datapoints"));
      return;
    }
    if (det.seg) {
      det.seg.forEach(function (s) {
        if (s[0] === "=") target.appendChild(document.createTextNode(s[1]));
        else if ((s[0] === "-") === (side === "old")) target.appendChild(el(plain ? "span" : s[0] === "-" ? "del" : "ins", null, s[1]));
      });
      return;
    }
    var text = side === "old" ? det.old : det.new;
    if (text === undefined) target.appendChild(el("span", "dim", side === "old" ? "(not in the baseline)" : "(not in the candidate)"));
    else target.appendChild(document.createTextNode(text));
  }

  function showJsonDiff(det) {
    var box = document.getElementById("d-json");
    box.textContent = "";
    if (!det || !det.json) return;
    box.appendChild(el("div", "side-h", "structural JSON diff (" + det.json.length + " change" + (det.json.length === 1 ? "" : "s") + ")"));
    var t = el("table", "compact json-diff");
    var head = el("tr");
    ["path", "change", "baseline", "candidate"].forEach(function (h) { head.appendChild(el("th", null, h)); });
    t.appendChild(el("thead")).appendChild(head);
    var tb = el("tbody");
    det.json.forEach(function (c) {
      var tr = el("tr", "j-" + c[1]);
      tr.appendChild(el("td", "mono", c[0]));
      tr.appendChild(el("td", null, c[1]));
      tr.appendChild(el("td", "mono old", c[2]));
      tr.appendChild(el("td", "mono new", c[3]));
      tb.appendChild(tr);
    });
    t.appendChild(tb);
    box.appendChild(t);
  }

  function openDetail(r) {
    current = r;
    var det = detailOf[r] >= 0 ? D.details[detailOf[r]] : null;
    var box = document.getElementById("detail");
    box.hidden = false;
    document.getElementById("d-title").textContent = D.ids[r];
    fillDiff(document.getElementById("d-old"), det, "old");
    fillDiff(document.getElementById("d-new"), det, "new");
    showJsonDiff(det);
    document.getElementById("d-input").textContent = det && det.input !== undefined ? det.input : "\u2014";
    document.getElementById("d-expected").textContent = det && det.expected !== undefined ? det.expected : "\u2014";
    var mt = document.getElementById("d-metrics");
    mt.textContent = "";
    D.metrics.forEach(function (m) {
      var a = D.old[m.name][r], b = D.new[m.name][r];
      if (a === null && b === null) return;
      var code = D.status[m.name].charAt(r);
      var item = el("div", "mchip s-" + (code === "-" ? "none" : code));
      item.appendChild(el("span", "mname", m.name));
      item.appendChild(el("span", "mvals", fmt(a) + " \u2192 " + fmt(b)));
      mt.appendChild(item);
    });
    if (det && det.cut) mt.appendChild(el("div", "warn", "outputs cut to " + det.cut + " characters"));
    if (det && det.diff_note) mt.appendChild(el("div", "warn diff-note", det.diff_note));
    render();
  }

  function setMode(isPlain) {
    plain = isPlain;
    document.getElementById("d-mode-plain").classList.toggle("on", plain);
    document.getElementById("d-mode-diff").classList.toggle("on", !plain);
    document.getElementById("detail").classList.toggle("plain", plain);
    if (current >= 0) openDetail(current);
  }

  body.addEventListener("click", function (e) {
    var tr = e.target.closest("tr[data-row]");
    if (tr) openDetail(parseInt(tr.getAttribute("data-row"), 10));
  });
  body.addEventListener("keydown", function (e) {
    var tr = e.target.closest("tr[data-row]");
    if (tr && e.key === "Enter") openDetail(parseInt(tr.getAttribute("data-row"), 10));
  });
  document.getElementById("d-close").addEventListener("click", function () {
    document.getElementById("detail").hidden = true;
    current = -1;
    render();
  });
  document.getElementById("d-mode-plain").addEventListener("click", function () { setMode(true); });
  document.getElementById("d-mode-diff").addEventListener("click", function () { setMode(false); });
  document.getElementById("p-prev").addEventListener("click", function () { if (page > 0) { page--; render(); } });
  document.getElementById("p-next").addEventListener("click", function () {
    if ((page + 1) * PAGE < rows.length) { page++; render(); }
  });
  var timer = null;
  fSearch.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(applyFilters, 120);
  });
  [fMetric, fStatus, fChanged, fSort].forEach(function (c) { c.addEventListener("change", applyFilters); });
  applyFilters();
  document.documentElement.setAttribute("data-ready", "1");
})();
