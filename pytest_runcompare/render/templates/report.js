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
        // A grouped table (the gates) sorts its bodies, each a row and its
        // explanation, by the first row; any other table sorts its rows.
        var grouped = table.classList.contains("grouped");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(grouped ? table.tBodies : body.rows);
        var first = function (r) { return grouped ? r.rows[0] : r; };
        rows.sort(function (r1, r2) {
          var a = cellValue(first(r1).cells[col]), b = cellValue(first(r2).cells[col]);
          if (a === null && b === null) return 0;
          if (a === null) return 1;  // missing values last either way
          if (b === null) return -1;
          var c = a < b ? -1 : a > b ? 1 : 0;
          return asc ? c : -c;
        });
        rows.forEach(function (r) { (grouped ? table : body).appendChild(r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") sort(); });
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), makeSortable);

  // ---------------------------------------------------------------- gate explanations
  Array.prototype.forEach.call(document.querySelectorAll("button.why-toggle"), function (b) {
    var row = document.getElementById(b.getAttribute("aria-controls"));
    if (!row) return;
    b.addEventListener("click", function () {
      var open = row.hidden;
      row.hidden = !open;
      b.setAttribute("aria-expanded", open ? "true" : "false");
      b.textContent = open ? "\u25be" : "\u25b8";
    });
  });

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
  // Slice tags: D.tag_sets are the distinct combinations, D.tag_of[r] a row's one.
  var tagSetText = D.tag_sets.map(function (set) {
    return set.map(function (t) { return D.tags[t]; }).join("\n").toLowerCase();
  });
  var tagCount = new Int32Array(D.tags.length);
  (function () {
    var perSet = new Int32Array(D.tag_sets.length);
    for (var r = 0; r < n; r++) perSet[D.tag_of[r]]++;
    D.tag_sets.forEach(function (set, k) { set.forEach(function (t) { tagCount[t] += perSet[k]; }); });
  })();

  var fMetric = document.getElementById("f-metric");
  var fStatus = document.getElementById("f-status");
  var fFlip = document.getElementById("f-flip");
  var fChanged = document.getElementById("f-changed");
  var fWorse = document.getElementById("f-worse");
  var fWorseMetric = document.getElementById("f-worse-metric");
  var fSort = document.getElementById("f-sort");
  var fSearch = document.getElementById("f-search");
  var fCount = document.getElementById("f-count");
  var fFacets = document.getElementById("f-facets");
  var body = document.getElementById("explorer-body");
  var grid = document.getElementById("explorer-grid");
  var tableBox = document.getElementById("explorer-table-box");
  var thBy = document.getElementById("th-by");
  var pInfo = document.getElementById("p-info");
  var page = 0, rows = [], current = -1, cursor = -1, plain = false, gridMode = false;
  var picked = {};  // facet name -> {tag index: true}

  D.metrics.forEach(function (m, k) {
    var o = el("option", null, m.name + (m.gated ? " (gated)" : ""));
    o.value = m.name;
    fMetric.appendChild(o);
    var w = el("option", null, m.name);
    w.value = String(k);
    fWorseMetric.appendChild(w);
  });
  if (D.default_metric !== null) fMetric.value = D.default_metric;
  function metricIndex(name) {
    for (var k = 0; k < D.metrics.length; k++) if (D.metrics[k].name === name) return k;
    return -1;
  }
  if (D.metrics.length) fWorseMetric.value = String(Math.max(0, metricIndex(fMetric.value)));

  (function () {
    var byGroup = el("optgroup");
    byGroup.label = "by another metric";
    D.metrics.forEach(function (m, k) {
      var w = el("option", null, m.name + ": worst first");
      w.value = "worst:" + k;
      var b = el("option", null, m.name + ": best first");
      b.value = "best:" + k;
      byGroup.appendChild(w);
      byGroup.appendChild(b);
    });
    if (D.metrics.length) fSort.appendChild(byGroup);
    var binary = [];
    D.metrics.forEach(function (m, k) { if (m.binary) binary.push(k); });
    if (!binary.length) {
      fFlip.disabled = true;
      fFlip.options[0].textContent = "no binary metric";
      return;
    }
    [["pf", "pass \u2192 fail"], ["fp", "fail \u2192 pass"]].forEach(function (f) {
      var any = el("option", null, f[1] + (binary.length > 1 ? " (any binary metric)" : " (" + D.metrics[binary[0]].name + ")"));
      any.value = f[0];
      fFlip.appendChild(any);
    });
    if (binary.length > 1) {
      binary.forEach(function (k) {
        [["pf", "pass \u2192 fail"], ["fp", "fail \u2192 pass"]].forEach(function (f) {
          var o = el("option", null, D.metrics[k].name + ": " + f[1]);
          o.value = f[0] + ":" + k;
          fFlip.appendChild(o);
        });
      });
    }
  })();

  // Facets: the tags grouped by the part before their first ":" ("lang:de" is
  // the value "de" of the facet "lang"); rows match any picked value of a facet,
  // and every facet with a picked value.
  var FACET_CHIPS = 40;
  var facetOf = D.tags.map(function (t) { var c = t.indexOf(":"); return c > 0 ? t.slice(0, c) : "tags"; });
  (function () {
    var groups = {}, order = [];
    D.tags.forEach(function (t, k) {
      var g = facetOf[k];
      if (!groups[g]) { groups[g] = []; order.push(g); }
      groups[g].push(k);
    });
    if (!order.length) { fFacets.hidden = true; return; }
    fFacets.appendChild(el("span", "facet-h", "slices"));
    order.forEach(function (g) {
      var box = el("div", "facet");
      box.appendChild(el("span", "facet-name", g));
      var members = groups[g].slice().sort(function (a, b) { return tagCount[b] - tagCount[a] || a - b; });
      members.slice(0, FACET_CHIPS).forEach(function (t) {
        var label = el("label", "fchip");
        var box2 = el("input");
        box2.type = "checkbox";
        box2.setAttribute("data-tag", String(t));
        label.appendChild(box2);
        var name = D.tags[t];
        label.appendChild(el("span", "fname", g === "tags" || name.indexOf(":") < 0 ? name : name.slice(g.length + 1)));
        label.appendChild(el("span", "count", tagCount[t]));
        label.title = name;
        box.appendChild(label);
      });
      if (members.length > FACET_CHIPS) {
        box.appendChild(el("span", "dim small", "+" + (members.length - FACET_CHIPS) + " more: search a tag to find them"));
      }
      fFacets.appendChild(box);
    });
    fFacets.addEventListener("change", function (e) {
      var t = e.target.getAttribute("data-tag");
      if (t === null) return;
      var k = parseInt(t, 10), g = facetOf[k];
      if (!picked[g]) picked[g] = {};
      if (e.target.checked) picked[g][k] = true; else delete picked[g][k];
      if (!Object.keys(picked[g]).length) delete picked[g];
      applyFilters();
    });
  })();

  function metric() {
    var k = metricIndex(fMetric.value);
    return k < 0 ? null : D.metrics[k];
  }

  function delta(m, r) {
    if (!m) return null;
    var a = D.old[m.name][r], b = D.new[m.name][r];
    return a === null || b === null ? null : b - a;
  }

  // Which combinations of tags pass the facets: computed once per filter, not per row.
  function facetPass() {
    var groups = Object.keys(picked);
    if (!groups.length) return null;
    return D.tag_sets.map(function (set) {
      return groups.every(function (g) { return set.some(function (t) { return picked[g][t]; }); });
    });
  }

  function flipTest() {
    var v = fFlip.value;
    if (!v) return null;
    var parts = v.split(":"), worse = parts[0] === "pf";
    var ms = parts.length > 1 ? [D.metrics[parseInt(parts[1], 10)]] : D.metrics.filter(function (m) { return m.binary; });
    return function (r) {
      return ms.some(function (m) {
        var a = D.old[m.name][r], b = D.new[m.name][r];
        if (a === null || b === null || a === b) return false;
        var better = m.hib ? b > a : b < a;
        return worse !== better;
      });
    };
  }

  function sortMetric() {
    var v = fSort.value, c = v.indexOf(":");
    return c < 0 ? metric() : D.metrics[parseInt(v.slice(c + 1), 10)];
  }

  function applyFilters() {
    var m = metric();
    var status = fStatus.value, onlyChanged = fChanged.checked;
    var q = fSearch.value.trim().toLowerCase();
    var st = m ? D.status[m.name] : "";
    var facets = facetPass(), flip = flipTest();
    var wm = D.metrics[parseInt(fWorseMetric.value, 10)];
    var x = fWorse.value === "" ? NaN : parseFloat(fWorse.value);
    var worseBy = wm && isFinite(x) ? x : null;
    var tagHit = q ? tagSetText.map(function (t) { return t.indexOf(q) >= 0; }) : null;
    var out = [];
    for (var r = 0; r < n; r++) {
      if (status === "new" && D.kind[r] !== 1) continue;
      if (status === "old" && D.kind[r] !== 2) continue;
      if ((status === "i" || status === "d" || status === "u") && st.charAt(r) !== status) continue;
      if (onlyChanged && !D.changed[r]) continue;
      if (facets && !facets[D.tag_of[r]]) continue;
      if (flip && !flip(r)) continue;
      if (worseBy !== null) {
        var dw = delta(wm, r);
        if (dw === null || (wm.hib ? dw : -dw) >= -worseBy) continue;
      }
      if (q) {
        var hit = D.ids[r].toLowerCase().indexOf(q) >= 0 || tagHit[D.tag_of[r]];
        if (!hit && detailOf[r] >= 0) hit = outputText[detailOf[r]].indexOf(q) >= 0;
        if (!hit) continue;
      }
      out.push(r);
    }
    var sort = fSort.value.split(":")[0], sm = sortMetric(), sign = sm && !sm.hib ? -1 : 1;
    var key = new Float64Array(n);
    out.forEach(function (r) {
      var d = delta(sm, r);
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
    cursor = -1;
    render();
  }

  var STATUS = { i: "improved", d: "regressed", u: "unchanged", "-": "\u2014" };

  function statusChip(r, st) {
    var kindText = D.kind[r] === 1 ? "new only" : D.kind[r] === 2 ? "old only" : STATUS[st.charAt(r)] || "\u2014";
    return el("span", "chip " + (D.kind[r] ? "k" + D.kind[r] : "s-" + (st.charAt(r) === "-" ? "none" : st.charAt(r))), kindText);
  }

  function tagChips(r) {
    var box = el("span", "tags");
    var set = D.tag_sets[D.tag_of[r]];
    set.slice(0, 4).forEach(function (t) { box.appendChild(el("span", "slice", D.tags[t])); });
    if (set.length > 4) box.appendChild(el("span", "dim small", "+" + (set.length - 4)));
    return box;
  }

  function changeCell(m, r) {
    var d = delta(m, r);
    var good = d === null || d === 0 ? "same" : (d > 0) === (m && m.hib) ? "better" : "worse";
    var dc = el("td", "num");
    dc.appendChild(el("span", "trend " + good, signed(d)));
    return dc;
  }

  function renderRow(r, m, st, by) {
    var tr = el("tr", r === current ? "open" : null);
    tr.setAttribute("data-row", String(r));
    tr.tabIndex = 0;
    tr.appendChild(el("td", "id", D.ids[r]));
    var s = el("td");
    s.appendChild(statusChip(r, st));
    tr.appendChild(s);
    var tc = el("td", "tags-cell");
    tc.appendChild(tagChips(r));
    tr.appendChild(tc);
    tr.appendChild(el("td", "num", m ? fmt(D.old[m.name][r]) : ""));
    tr.appendChild(el("td", "num", m ? fmt(D.new[m.name][r]) : ""));
    tr.appendChild(changeCell(m, r));
    if (by) tr.appendChild(changeCell(by, r));
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
    return tr;
  }

  function renderCard(r, m, st) {
    var card = el("div", "card-dp" + (r === current ? " open" : ""));
    card.setAttribute("data-row", String(r));
    card.tabIndex = 0;
    var head = el("div", "card-head");
    head.appendChild(el("span", "id", D.ids[r]));
    head.appendChild(statusChip(r, st));
    if (D.changed[r]) head.appendChild(el("span", "chip changed", "changed"));
    head.appendChild(tagChips(r));
    if (m) {
      var d = delta(m, r);
      var good = d === null || d === 0 ? "same" : (d > 0) === m.hib ? "better" : "worse";
      var mv = el("span", "card-metric");
      mv.appendChild(el("span", "mname", m.name));
      mv.appendChild(document.createTextNode(" " + fmt(D.old[m.name][r]) + " \u2192 " + fmt(D.new[m.name][r]) + " "));
      mv.appendChild(el("span", "trend " + good, signed(d)));
      head.appendChild(mv);
    }
    card.appendChild(head);
    var det = detailOf[r] >= 0 ? D.details[detailOf[r]] : null;
    var sides = el("div", "sides");
    ["old", "new"].forEach(function (side) {
      var box = el("div", "side");
      box.appendChild(el("div", "side-h " + (side === "old" ? "base" : "cand"), side === "old" ? "baseline" : "candidate"));
      var pre = el("pre", "out grid-out");
      fillDiff(pre, det, side);
      box.appendChild(pre);
      sides.appendChild(box);
    });
    card.appendChild(sides);
    return card;
  }

  function render() {
    var m = metric();
    var st = m ? D.status[m.name] : "";
    var sm = sortMetric(), by = sm && m && sm !== m ? sm : null;
    thBy.hidden = !by;
    thBy.textContent = by ? "change of " + by.name : "";
    body.textContent = "";
    grid.textContent = "";
    tableBox.hidden = gridMode;
    grid.hidden = !gridMode;
    var start = page * PAGE, stop = Math.min(rows.length, start + PAGE);
    for (var k = start; k < stop; k++) {
      if (gridMode) grid.appendChild(renderCard(rows[k], m, st));
      else body.appendChild(renderRow(rows[k], m, st, by));
    }
    shownPage = page;
    markRows();
    var pages = Math.max(1, Math.ceil(rows.length / PAGE));
    pInfo.textContent = rows.length ? "page " + (page + 1) + " of " + pages : "no datapoint matches";
    fCount.textContent = rows.length + " of " + n + " datapoints";
    document.getElementById("p-prev").disabled = page === 0;
    document.getElementById("p-next").disabled = page >= pages - 1;
  }

  // The open and the cursor rows are marked in place: moving the cursor within a
  // page does not rebuild it (50 grid cards with their diffs take a while).
  var shownPage = -1;
  function markRows() {
    var box = gridMode ? grid : body, want = cursor >= 0 ? rows[cursor] : -1;
    Array.prototype.forEach.call(box.children, function (e) {
      var r = parseInt(e.getAttribute("data-row"), 10);
      e.classList.toggle("cursor", r === want);
      e.classList.toggle("open", r === current);
    });
  }
  function refresh() {
    if (shownPage === page) markRows(); else render();
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

  // Permalinks: "#dp=" + encodeURIComponent(id), the id as the page shows it.
  var idIndex = null;
  function rowOfId(id) {
    if (!idIndex) {
      idIndex = new Map();
      for (var r = n - 1; r >= 0; r--) idIndex.set(D.ids[r], r);
    }
    var r2 = idIndex.get(id);
    return r2 === undefined ? -1 : r2;
  }
  function linkOf(r) { return "#dp=" + encodeURIComponent(D.ids[r]); }
  function setHash(hash) {
    try {
      history.replaceState(null, "", hash || location.pathname + location.search);
    } catch (err) {
      // file: pages that refuse replaceState: the link in the panel still works
    }
  }

  function openDetail(r) {
    current = r;
    var det = detailOf[r] >= 0 ? D.details[detailOf[r]] : null;
    var box = document.getElementById("detail");
    box.hidden = false;
    document.getElementById("d-title").textContent = D.ids[r];
    document.getElementById("d-link").setAttribute("href", linkOf(r));
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
    var set = D.tag_sets[D.tag_of[r]];
    if (set.length) mt.appendChild(tagChips(r));
    if (det && det.cut) mt.appendChild(el("div", "warn", "outputs cut to " + det.cut + " characters"));
    if (det && det.diff_note) mt.appendChild(el("div", "warn diff-note", det.diff_note));
    if (location.hash !== linkOf(r)) setHash(linkOf(r));
    refresh();
  }

  function closeDetail() {
    var box = document.getElementById("detail");
    if (box.hidden) return;
    box.hidden = true;
    current = -1;
    if (location.hash.indexOf("#dp=") === 0) setHash("");
    refresh();
    focusCursor();
  }

  function openFromHash() {
    var h = location.hash;
    if (h.indexOf("#dp=") !== 0) return;
    var id;
    try { id = decodeURIComponent(h.slice(4)); } catch (err) { return; }
    var r = rowOfId(id);
    if (r < 0) return;
    var at = rows.indexOf(r);
    if (at >= 0) { cursor = at; page = Math.floor(at / PAGE); }
    openDetail(r);
  }

  function focusCursor() {
    if (cursor < 0) return;
    var at = document.querySelector("#datapoints [data-row='" + rows[cursor] + "']");
    if (at) at.focus({ preventScroll: false });
  }

  function moveCursor(step) {
    if (!rows.length) return;
    var start = page * PAGE;
    if (cursor < start || cursor >= start + PAGE) cursor = step > 0 ? start - 1 : Math.min(rows.length, start + PAGE);
    cursor = Math.max(0, Math.min(rows.length - 1, cursor + step));
    page = Math.floor(cursor / PAGE);
    if (!document.getElementById("detail").hidden) openDetail(rows[cursor]);
    else refresh();
    focusCursor();
  }

  function setMode(isPlain) {
    plain = isPlain;
    document.getElementById("d-mode-plain").classList.toggle("on", plain);
    document.getElementById("d-mode-diff").classList.toggle("on", !plain);
    document.getElementById("detail").classList.toggle("plain", plain);
    shownPage = -1;  // the grid's cards follow the mode too
    if (current >= 0) openDetail(current); else render();
  }

  function setView(isGrid) {
    gridMode = isGrid;
    document.getElementById("v-grid").classList.toggle("on", gridMode);
    document.getElementById("v-table").classList.toggle("on", !gridMode);
    shownPage = -1;
    render();
  }

  function clickRow(e) {
    var tr = e.target.closest("[data-row]");
    if (!tr) return;
    var r = parseInt(tr.getAttribute("data-row"), 10);
    cursor = rows.indexOf(r);
    openDetail(r);
  }
  body.addEventListener("click", clickRow);
  grid.addEventListener("click", clickRow);

  function inField(t) {
    var tag = t && t.tagName;
    return tag === "INPUT" || tag === "A" || tag === "SELECT" || tag === "TEXTAREA" || tag === "BUTTON" || (t && t.isContentEditable);
  }
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    var t = e.target, detailOpen = !document.getElementById("detail").hidden;
    if (e.key === "Escape") { if (detailOpen) { closeDetail(); e.preventDefault(); } return; }
    if (inField(t)) return;
    var inExplorer = detailOpen || (t && t.closest && t.closest("#datapoints"));
    var down = e.key === "j" || (e.key === "ArrowDown" && inExplorer);
    var up = e.key === "k" || (e.key === "ArrowUp" && inExplorer);
    if (down || up) { moveCursor(down ? 1 : -1); e.preventDefault(); return; }
    if (e.key === "Enter" && inExplorer) {
      var tr = t.closest && t.closest("[data-row]");
      if (tr) { clickRow({ target: tr }); e.preventDefault(); }
      else if (cursor >= 0) { openDetail(rows[cursor]); e.preventDefault(); }
    }
  });
  document.getElementById("d-close").addEventListener("click", closeDetail);
  document.getElementById("d-mode-plain").addEventListener("click", function () { setMode(true); });
  document.getElementById("d-mode-diff").addEventListener("click", function () { setMode(false); });
  document.getElementById("v-table").addEventListener("click", function () { setView(false); });
  document.getElementById("v-grid").addEventListener("click", function () { setView(true); });
  document.getElementById("p-prev").addEventListener("click", function () { if (page > 0) { page--; render(); } });
  document.getElementById("p-next").addEventListener("click", function () {
    if ((page + 1) * PAGE < rows.length) { page++; render(); }
  });
  var timer = null;
  function debounced() {
    clearTimeout(timer);
    timer = setTimeout(applyFilters, 120);
  }
  fSearch.addEventListener("input", debounced);
  fWorse.addEventListener("input", debounced);
  [fMetric, fStatus, fFlip, fChanged, fWorseMetric, fSort].forEach(function (c) { c.addEventListener("change", applyFilters); });
  window.addEventListener("hashchange", openFromHash);
  applyFilters();
  openFromHash();
  document.documentElement.setAttribute("data-ready", "1");
})();
