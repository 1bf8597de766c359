// The BRAIN incident report's script: it draws the waterfall, the span
// details, the audit records and the findings of the selected trace from
// the page's JSON block (docs/trace-lint.md, "report"). It sets text only,
// never markup, and requests nothing: the page's Content-Security-Policy
// allows no connection, and this script makes none.
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('brain-data').textContent);
  var S = D.s;
  var KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
  var CODES = ['unset', 'ok', 'error'];
  var MAX_INDENT = 40;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      parent.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return parent;
  }
  function plural(n, word) { return n + ' ' + word + (n === 1 ? '' : 's'); }

  // dur formats ns with three significant digits, as brain-trace-lint tree does.
  function sig3(v) { return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2); }
  function dur(ns) {
    if (ns < 1e3) return ns + 'ns';
    if (ns < 1e6) return sig3(ns / 1e3) + 'µs';
    if (ns < 1e9) return sig3(ns / 1e6) + 'ms';
    return sig3(ns / 1e9) + 's';
  }
  function offset(ns) { return '+' + dur(ns); }

  // value decodes an attribute value (docs/trace-lint.md, "report").
  function value(v) {
    if (typeof v === 'number') return { type: 'string', text: S[v] };
    if (v === null || v === undefined) return { type: 'empty', text: '' };
    if (typeof v === 'boolean') return { type: 'bool', text: String(v) };
    if (Array.isArray(v)) return { type: 'int', text: String(v[0]) };
    if ('s' in v) return { type: 'string', text: S[v.s], cut: v.cut };
    if ('f' in v) return { type: 'double', text: String(v.f) };
    if ('y' in v) return { type: 'bytes', text: v.y, cut: v.cut };
    if ('a' in v) {
      var parts = v.a.map(function (x) { var d = value(x); return d.type === 'string' ? JSON.stringify(d.text) : d.text; });
      if (v.more) parts.push('… ' + v.more + ' more');
      return { type: 'array', text: '[' + parts.join(', ') + ']' };
    }
    if ('m' in v) {
      var kv = [];
      for (var i = 0; i + 1 < v.m.length; i += 2) {
        var d = value(v.m[i + 1]);
        kv.push(JSON.stringify(S[v.m[i]]) + ': ' + (d.type === 'string' ? JSON.stringify(d.text) : d.text));
      }
      if (v.more) kv.push('… ' + v.more + ' more');
      return { type: 'map', text: '{' + kv.join(', ') + '}' };
    }
    return { type: '?', text: '' };
  }

  function attrTable(flat, more, cls) {
    var t = el('table', 'attrs' + (cls ? ' ' + cls : ''));
    for (var i = 0; i + 1 < flat.length; i += 2) {
      var d = value(flat[i + 1]);
      var tr = el('tr', 'attr');
      var vc = el('td', 'attr-value', d.text);
      if (d.cut) add(vc, el('span', 'cut', ' … cut from ' + d.cut + ' bytes'));
      add(tr, el('td', 'attr-key', S[flat[i]]), el('td', 'attr-type', d.type), vc);
      t.appendChild(tr);
    }
    if (more) add(t, add(el('tr', 'attr more'), el('td', 'attr-key', '…'), el('td', 'attr-type', ''), el('td', 'attr-value', plural(more, 'more attribute') + ' not shown (over the report\'s limits, or dropped by the SDK)')));
    return t;
  }

  function section(title) {
    var s = el('div', 'detail-section');
    add(s, el('h4', null, title));
    return s;
  }

  function kv(t, k, v, cls) {
    var tr = el('tr', cls);
    add(tr, el('th', null, k), typeof v === 'object' && v !== null ? add(el('td'), v) : el('td', null, v));
    t.appendChild(tr);
  }

  // The state of the page: the selected trace and its rows.
  var cur = null;

  var view = document.getElementById('trace-view');
  var rowsByTrace = [];
  var findingsByTrace = [];
  D.t.forEach(function () { findingsByTrace.push([]); });
  var pageFindings = [];
  D.f.forEach(function (f) { if (f.t >= 0) findingsByTrace[f.t].push(f); else pageFindings.push(f); });

  function mutText(mu) {
    switch (mu) {
      case 1: return ['audited', 'ok'];
      case 2: return ['NOT audited', 'bad'];
      case 3: return ['mutates state', 'neutral'];
      case 4: return ['aborted: audit write failed', 'neutral'];
    }
    return null;
  }

  function select(ti, spanID) {
    if (ti < 0 || ti >= D.t.length) return;
    if (!cur || cur.ti !== ti) draw(ti);
    var items = document.querySelectorAll('.trace-item');
    for (var i = 0; i < items.length; i++) items[i].classList.toggle('selected', Number(items[i].getAttribute('data-trace')) === ti);
    if (spanID) {
      var rows = D.t[ti].r;
      for (var r = 0; r < rows.length; r++) {
        if (rows[r].i === spanID) { reveal(r); openDetails(r, true); scrollToRow(r); break; }
      }
    }
  }

  // draw builds the selected trace's view.
  function draw(ti) {
    var t = D.t[ti];
    view.textContent = '';
    // rowEls and details hold the elements of the rows drawn now (the
    // window around the viewport); vis lists the rows not folded away or
    // filtered out, pos their offsets, extra the height of open details.
    cur = { ti: ti, t: t, rowEls: {}, open: {}, folded: {}, details: {}, extra: {}, vis: [], pos: [], recordsByRow: {}, findingsByRow: {} };
    t.a.forEach(function (rec) { if (rec.r >= 0) (cur.recordsByRow[rec.r] = cur.recordsByRow[rec.r] || []).push(rec); });
    findingsByTrace[ti].forEach(function (f) { if (f.r >= 0) (cur.findingsByRow[f.r] = cur.findingsByRow[f.r] || []).push(f); });

    var head = el('div', 'trace-head' + (t.x ? ' has-errors' : ''));
    add(head, el('h2', null, 'Trace ' + t.id));
    var facts = el('dl', 'facts');
    function fact(k, v) { add(facts, el('dt', null, k), el('dd', null, v)); }
    fact('session', t.ss.map(function (i) { return S[i]; }).join(', ') || '-');
    fact('command', t.cmd || '-');
    fact('exit code', t.exit === undefined ? '-' : t.exit);
    fact('start (UTC)', t.start);
    fact('duration', dur(t.d));
    fact('spans', String(t.n) + (t.h ? ' (' + t.h + ' in collapsed rows)' : ''));
    fact('errors', String(t.x));
    fact('audit records', String(t.a.length) + (t.am ? ' (' + t.am + ' more not in this report)' : ''));
    head.appendChild(facts);
    if (t.h) add(head, el('p', 'note', 'This trace has more spans than the report draws: ' + plural(t.h, 'span') + ' are collapsed into the rows of their subtrees (marked ⊞). brain-trace-lint report --max-rows N draws more; brain-trace-lint tree draws every span as text.'));
    view.appendChild(head);

    var bar = el('div', 'toolbar');
    var filter = el('input', 'filter');
    filter.type = 'search';
    filter.placeholder = 'filter: name, attribute, span id';
    filter.setAttribute('aria-label', 'filter the spans');
    var errLabel = el('label', 'errors-only');
    var errBox = el('input');
    errBox.type = 'checkbox';
    add(errLabel, errBox, ' errors only');
    var expand = el('button', 'expand-all', 'unfold all');
    var fold = el('button', 'fold-all', 'fold all');
    add(bar, filter, errLabel, expand, fold);
    view.appendChild(bar);

    var wf = el('div', 'waterfall');
    wf.setAttribute('role', 'tree');
    var axis = el('div', 'axis');
    add(axis, el('span', 'axis-name', 'span'));
    var ticks = el('span', 'axis-ticks');
    [0, 0.25, 0.5, 0.75, 1].forEach(function (f) {
      var tk = el('span', 'tick', dur(Math.round(t.d * f)));
      tk.style.left = (f * 100) + '%';
      ticks.appendChild(tk);
    });
    add(axis, ticks, el('span', 'axis-dur', 'duration'));
    wf.appendChild(axis);

    var hasKids = {};
    t.r.forEach(function (r) { if (r.p >= 0) hasKids[r.p] = true; });
    cur.hasKids = hasKids;
    cur.total = t.d > 0 ? t.d : 1;
    var body = el('div', 'wf-body');
    wf.setAttribute('data-rows', String(t.r.length));
    wf.appendChild(body);
    cur.body = body;
    wf.addEventListener('click', function (ev) {
      var box = ev.target.closest('.details');
      if (box) { remeasure(Number(box.getAttribute('data-row'))); return; }
      var row = ev.target.closest('.span-row, .agg-row');
      if (!row) return;
      var ri = Number(row.getAttribute('data-row'));
      if (ev.target.classList.contains('twisty')) { toggleFold(ri); return; }
      openDetails(ri, !cur.open[ri]);
    });
    wf.addEventListener('keydown', function (ev) {
      var row = ev.target.closest('.span-row, .agg-row');
      if (!row) return;
      var ri = Number(row.getAttribute('data-row'));
      if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); openDetails(ri, !cur.open[ri]); }
      if (ev.key === 'ArrowLeft' && hasKids[ri] && !cur.folded[ri]) toggleFold(ri);
      if (ev.key === 'ArrowRight' && cur.folded[ri]) toggleFold(ri);
    });
    view.appendChild(wf);
    cur.wf = wf;

    function apply() {
      var q = filter.value.trim().toLowerCase();
      var only = errBox.checked;
      var keep = null;
      if (q || only) {
        keep = {};
        t.r.forEach(function (r, ri) {
          var hit = (!only || r.x || (r.c && r.c.x)) && (!q || matches(r, q));
          if (hit) for (var k = ri; k >= 0 && !keep[k]; k = t.r[k].p) keep[k] = true;
        });
      }
      visibility(keep);
    }
    filter.addEventListener('input', apply);
    errBox.addEventListener('change', apply);
    expand.addEventListener('click', function () { cur.folded = {}; apply(); });
    fold.addEventListener('click', function () { t.r.forEach(function (r, ri) { if (hasKids[ri] && r.p >= 0) cur.folded[ri] = true; }); apply(); });
    cur.apply = apply;
    visibility(null);

    drawAudit(t);
    drawFindings(findingsByTrace[ti], 'Lint findings of this trace', 'trace-findings');
    drawGenAI(t.g);
  }

  function matches(r, q) {
    if ((r.g ? '' : S[r.n]).toLowerCase().indexOf(q) >= 0) return true;
    if (r.k && r.k.toLowerCase().indexOf(q) >= 0) return true;
    if (r.i && r.i.indexOf(q) === 0) return true;
    if (r.m && r.m.toLowerCase().indexOf(q) >= 0) return true;
    if (r.dt) {
      var a = r.dt.a;
      for (var i = 0; i + 1 < a.length; i += 2) {
        if (S[a[i]].toLowerCase().indexOf(q) >= 0 || value(a[i + 1]).text.toLowerCase().indexOf(q) >= 0) return true;
      }
    }
    return false;
  }

  // makeRow builds the element of row ri.
  function makeRow(ri) {
    var t = cur.t, r = t.r[ri], hasKids = cur.hasKids;
    var row = el('div', r.g ? 'agg-row' : 'span-row');
    row.setAttribute('role', 'treeitem');
    row.setAttribute('tabindex', '0');
    row.setAttribute('data-row', String(ri));
    if (r.i) row.setAttribute('data-span-id', r.i);
    if (r.x) row.classList.add('error');
    if (cur.open[ri]) row.classList.add('open');
    var name = el('span', 'cell-name');
    name.style.paddingLeft = (Math.min(r.d, MAX_INDENT) * 14 + 4) + 'px';
    var tw = el('button', 'twisty', hasKids[ri] ? (cur.folded[ri] ? '▸' : '▾') : '');
    tw.tabIndex = -1;
    if (!hasKids[ri]) tw.disabled = true;
    name.appendChild(tw);
    if (r.d > MAX_INDENT) add(name, el('span', 'deep', 'depth ' + r.d + ' '));
    if (r.x) add(name, el('span', 'err-mark', '✗ '));
    if (r.g) {
      add(name, el('span', 'name', '⊞ ' + plural(r.c.n, 'more span') + ' not drawn'));
    } else {
      add(name, el('span', 'name', S[r.n]));
    }
    if (r.k) add(name, el('span', 'keys', r.k));
    var badges = el('span', 'badges');
    var recs = cur.recordsByRow[ri];
    if (recs) add(badges, el('span', 'badge audit', plural(recs.length, 'record')));
    var fs = cur.findingsByRow[ri];
    if (fs) {
      var errs = fs.filter(function (f) { return f.sev === 'error'; }).length;
      add(badges, el('span', 'badge finding' + (errs ? ' bad' : ' warn'), plural(fs.length, 'finding')));
    }
    var m = mutText(r.mu);
    if (m) add(badges, el('span', 'badge mut ' + m[1], m[0]));
    if (r.cp) add(badges, el('span', 'badge cp', 'critical path'));
    if (r.c && !r.g) add(badges, el('span', 'badge collapsed', '⊞ ' + plural(r.c.n, 'span') + ' below' + (r.c.x ? ', ' + plural(r.c.x, 'error') : '')));
    if (r.nt) add(badges, el('span', 'badge note', r.nt));
    name.appendChild(badges);
    var cell = el('span', 'cell-bar');
    var b = el('span', 'bar' + (r.g ? ' agg' : '') + (r.x ? ' error' : ''));
    var s0 = r.g ? r.c.s : r.s, e0 = r.g ? r.c.e - r.c.s : r.e;
    b.style.left = (s0 / cur.total * 100) + '%';
    b.style.width = Math.max(e0 / cur.total * 100, 0.15) + '%';
    cell.appendChild(b);
    add(row, name, cell, el('span', 'cell-dur', r.g ? '' : dur(r.e)));
    return row;
  }

  // The waterfall draws only the rows near the viewport (ROW_H pixels
  // each, plus the height of open details), so that a trace of any size
  // loads and scrolls at the cost of a screenful.
  var ROW_H = 24, OVERSCAN = 60;

  // visibility lists the rows whose ancestors are unfolded (and that keep
  // holds, when it is set), and lays them out.
  function visibility(keep) {
    var rows = cur.t.r;
    var shown = [];
    cur.vis = [];
    for (var ri = 0; ri < rows.length; ri++) {
      var p = rows[ri].p;
      var vis = (p < 0 || (shown[p] && !cur.folded[p])) && (!keep || keep[ri]);
      shown.push(vis);
      if (vis) cur.vis.push(ri);
    }
    cur.lastKeep = keep;
    // Rows drawn with the old folds are drawn again.
    Object.keys(cur.rowEls).forEach(function (key) { cur.rowEls[key].remove(); });
    cur.rowEls = {};
    relayout();
  }

  // relayout places the visible rows one under the other and draws those
  // near the viewport.
  function relayout() {
    var y = 0;
    cur.pos = new Array(cur.vis.length);
    cur.at = {};
    for (var k = 0; k < cur.vis.length; k++) {
      var ri = cur.vis[k];
      cur.pos[k] = y;
      cur.at[ri] = k;
      y += ROW_H + (cur.open[ri] ? cur.extra[ri] || 0 : 0);
    }
    cur.body.style.height = y + 'px';
    render();
  }

  function render() {
    if (!cur || !cur.body) return;
    var top = -cur.body.getBoundingClientRect().top;
    var from = top - OVERSCAN * ROW_H, to = top + window.innerHeight + OVERSCAN * ROW_H;
    var lo = 0, hi = cur.vis.length;
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      var ri0 = cur.vis[mid];
      if (cur.pos[mid] + ROW_H + (cur.open[ri0] ? cur.extra[ri0] || 0 : 0) < from) lo = mid + 1; else hi = mid;
    }
    var want = {};
    for (var k = lo; k < cur.vis.length && cur.pos[k] <= to; k++) {
      var ri = cur.vis[k];
      want[ri] = true;
      var row = cur.rowEls[ri] || (cur.rowEls[ri] = makeRow(ri));
      row.style.top = cur.pos[k] + 'px';
      if (!row.parentNode) cur.body.appendChild(row);
      var d = cur.details[ri];
      if (d) {
        d.style.top = (cur.pos[k] + ROW_H) + 'px';
        if (!d.parentNode) cur.body.appendChild(d);
      }
    }
    Object.keys(cur.rowEls).forEach(function (key) {
      if (want[key]) return;
      cur.rowEls[key].remove();
      delete cur.rowEls[key];
      if (cur.details[key]) cur.details[key].remove();
    });
  }

  var pending = false;
  window.addEventListener('scroll', function () {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; render(); });
  }, { passive: true });
  window.addEventListener('resize', function () { if (cur && cur.body) relayout(); });

  function scrollToRow(ri) {
    var k = cur.at[ri];
    if (k === undefined) return;
    var y = cur.body.getBoundingClientRect().top + window.scrollY + cur.pos[k];
    window.scrollTo(0, Math.max(0, y - window.innerHeight / 3));
    render();
  }

  function toggleFold(ri) {
    cur.folded[ri] = !cur.folded[ri];
    var row = cur.rowEls[ri];
    if (row) row.querySelector('.twisty').textContent = cur.folded[ri] ? '▸' : '▾';
    visibility(cur.lastKeep);
  }

  // reveal unfolds a row's ancestors and clears the filter's hiding.
  function reveal(ri) {
    for (var p = cur.t.r[ri].p; p >= 0; p = cur.t.r[p].p) {
      if (cur.folded[p]) {
        cur.folded[p] = false;
        if (cur.rowEls[p]) cur.rowEls[p].querySelector('.twisty').textContent = '▾';
      }
    }
    visibility(null);
  }

  function openDetails(ri, open) {
    cur.open[ri] = open;
    var row = cur.rowEls[ri];
    if (row) {
      row.classList.toggle('open', open);
      row.setAttribute('aria-expanded', String(open));
    }
    if (cur.details[ri]) { cur.details[ri].remove(); delete cur.details[ri]; }
    if (open) {
      var d = details(ri);
      cur.details[ri] = d;
      cur.body.appendChild(d);
      cur.extra[ri] = d.offsetHeight;
    }
    relayout();
  }

  // remeasure lays out again after the details of ri changed height.
  function remeasure(ri) {
    var d = cur.details[ri];
    if (!d) return;
    var h = d.offsetHeight;
    if (h !== cur.extra[ri]) { cur.extra[ri] = h; relayout(); }
  }

  function details(ri) {
    var t = cur.t, r = t.r[ri];
    var box = el('div', 'details');
    box.setAttribute('data-row', String(ri));
    if (r.g) {
      add(box, hiddenSection(r.c, 'The spans this row stands for'));
      return box;
    }
    var sp = section('Span');
    var kt = el('table', 'kv');
    kv(kt, 'name', S[r.n]);
    kv(kt, 'span id', r.i);
    kv(kt, 'trace id', t.id);
    if (r.p >= 0) kv(kt, 'parent', S[t.r[r.p].n] + ' ' + t.r[r.p].i);
    if (r.nt) kv(kt, 'parent', r.nt);
    kv(kt, 'start', offset(r.s) + ' after the trace\'s start');
    kv(kt, 'duration', dur(r.e));
    if (r.dt) {
      kv(kt, 'kind', KINDS[r.dt.k] || String(r.dt.k));
      kv(kt, 'status', CODES[r.dt.c] || String(r.dt.c), r.dt.c === 2 ? 'bad' : null);
    } else if (r.x) {
      kv(kt, 'status', 'error', 'bad');
    }
    if (r.m) kv(kt, 'status message', r.m, 'bad');
    if (r.l) kv(kt, 'input', S[r.l[0]] + ':' + r.l[1]);
    if (r.fo) kv(kt, 'scope', 'another program\'s span (not of the span dictionary\'s scope): not linted but for secrets');
    var cov = [];
    if (r.cp) cov.push('a critical-path span (the span dictionary)');
    var m = mutText(r.mu);
    if (m) cov.push({ 1: 'mutates state; an audit record names it', 2: 'mutates state, but no audit record names it (audit-missing)', 3: 'mutates state (no audit chain given: not checked)', 4: 'mutates state; aborted because its audit record could not be written' }[r.mu]);
    if (cov.length) kv(kt, 'coverage', cov.join('; '));
    sp.appendChild(kt);
    box.appendChild(sp);
    if (r.nk) add(box, el('p', 'note', 'This span\'s attributes and events were not kept: the input is over the report\'s memory limit. brain-trace-lint report --trace ' + t.id + ' draws this trace alone.'));
    if (r.dt) {
      var at = section('Attributes');
      if (r.dt.a.length || r.dt.ma) at.appendChild(attrTable(r.dt.a, r.dt.ma, 'span-attrs'));
      else add(at, el('p', 'none', 'none'));
      box.appendChild(at);
      if (r.dt.ev || r.dt.me) {
        var es = section('Events');
        (r.dt.ev || []).forEach(function (e) {
          add(es, el('p', 'event', offset(e.t) + '  ' + S[e.n]));
          if (e.a.length || e.m) es.appendChild(attrTable(e.a, e.m));
        });
        if (r.dt.me) add(es, el('p', 'more', plural(r.dt.me, 'more event') + ' not shown'));
        box.appendChild(es);
      }
      if (r.dt.ln || r.dt.ml) {
        var ls = section('Links');
        (r.dt.ln || []).forEach(function (k) {
          add(ls, el('p', 'link', 'trace ' + k.t + ' span ' + k.s));
          if (k.a.length || k.m) ls.appendChild(attrTable(k.a, k.m));
        });
        if (r.dt.ml) add(ls, el('p', 'more', plural(r.dt.ml, 'more link') + ' not shown'));
        box.appendChild(ls);
      }
      if (r.dt.cut) add(box, el('p', 'note', 'This span holds more than the report keeps of a span (' + r.dt.cut + ' bytes): the rest is counted above, not shown.'));
      var o = D.o[r.dt.o];
      var rs = section('Resource and scope');
      var st = el('table', 'kv');
      kv(st, 'scope', S[o.sc] + (S[o.sv] ? ' ' + S[o.sv] : ''));
      rs.appendChild(st);
      rs.appendChild(attrTable(o.a, o.m, 'resource-attrs'));
      box.appendChild(rs);
    }
    var recs = cur.recordsByRow[ri];
    var as = section('Audit records of this span');
    if (recs) as.appendChild(recordTable(recs, false));
    else add(as, el('p', 'none', D.t && cur.t.a.length === 0 && !hasChain() ? 'no audit chain was given' : 'none'));
    box.appendChild(as);
    var fs = cur.findingsByRow[ri];
    if (fs) {
      var fsec = section('Lint findings of this span');
      fsec.appendChild(findingList(fs));
      box.appendChild(fsec);
    }
    if (r.c) add(box, hiddenSection(r.c, 'Collapsed below this span'));
    return box;
  }

  function hasChain() { return document.getElementById('chain-verdict').classList.contains('none') === false; }

  function hiddenSection(c, title) {
    var s = section(title);
    add(s, el('p', null, plural(c.n, 'span') + ', ' + plural(c.x, 'error') + ', from ' + offset(c.s) + ' to ' + offset(c.e)));
    var t = el('table', 'kv hidden-names');
    c.names.forEach(function (nc) { kv(t, S[nc[0]], String(nc[1])); });
    if (c.more) kv(t, '…', plural(c.more, 'more name'));
    s.appendChild(t);
    return s;
  }

  // RECORD_PAGE is how many records a table draws at first, and at each
  // "more": a trace of 10,000 spans has as many records.
  var RECORD_PAGE = 200;

  function recordTable(recs, withSpan) {
    var t = el('table', 'records');
    var h = el('tr');
    ['seq', 'type', 'time (UTC)', 'hash'].concat(withSpan ? ['span'] : []).forEach(function (c) { h.appendChild(el('th', null, c)); });
    t.appendChild(add(el('thead'), h));
    var body = el('tbody');
    var trace = cur.t;
    function record(rec) {
      var tr = el('tr', 'record');
      tr.setAttribute('data-seq', String(rec.q));
      var hash = el('td', 'hash', rec.h.slice(0, 12) + '…');
      hash.title = rec.h;
      add(tr, el('td', 'seq', String(rec.q)), el('td', 'type', S[rec.y]), el('td', 'ts', rec.ts), hash);
      if (withSpan) {
        var sc = el('td', 'span');
        if (rec.r >= 0) {
          var a = el('a', 'span-link', rec.sp + (rec.in ? ' (in a collapsed row)' : ''));
          a.href = '#trace=' + trace.id + '&span=' + trace.r[rec.r].i;
          sc.appendChild(a);
        } else if (rec.u) {
          sc.textContent = rec.sp + ': not in the input';
          sc.classList.add('bad');
        } else {
          sc.textContent = rec.sp || '-';
        }
        tr.appendChild(sc);
      }
      body.appendChild(tr);
      // The record's data row is made on the first click.
      var more = null;
      tr.addEventListener('click', function (ev) {
        if (ev.target.closest('a')) return;
        if (more) { more.hidden = !more.hidden; return; }
        more = el('tr', 'record-data');
        var cell = el('td');
        cell.colSpan = withSpan ? 5 : 4;
        var dl = el('table', 'kv');
        kv(dl, 'hash', rec.h);
        kv(dl, 'session', S[rec.ss] || '-');
        kv(dl, 'chain', S[rec.l[0]] + ':' + rec.l[1]);
        var data = rec.nk ? '(not kept: the chain is over the report\'s memory limit)' : rec.dt + (rec.cut ? ' … cut from ' + rec.cut + ' bytes' : '');
        kv(dl, 'data', el('pre', 'record-json', data));
        cell.appendChild(dl);
        more.appendChild(cell);
        tr.after(more);
      });
    }
    var shown = 0;
    var foot = el('p', 'more');
    var btn = el('button', 'more-records');
    function page() {
      var end = Math.min(recs.length, shown + RECORD_PAGE);
      for (; shown < end; shown++) record(recs[shown]);
      var left = recs.length - shown;
      btn.textContent = 'show ' + Math.min(left, RECORD_PAGE) + ' more of ' + left;
      foot.hidden = left === 0;
    }
    btn.addEventListener('click', page);
    foot.appendChild(btn);
    page();
    t.appendChild(body);
    var box = el('div', 'record-box');
    add(box, t, foot);
    return box;
  }

  function findingList(fs) {
    var ul = el('ul', 'findings');
    fs.forEach(function (f) {
      var li = el('li', 'finding ' + f.sev);
      add(li, el('span', 'sev', f.sev), ' ', el('span', 'rule', f.rule), ': ');
      if (f.span) {
        var label = 'span ' + f.span + (f.sid ? ' ' + f.sid : '');
        if (f.t >= 0 && f.r >= 0) {
          var a = el('a', 'span-link', label);
          a.href = '#trace=' + D.t[f.t].id + '&span=' + D.t[f.t].r[f.r].i;
          add(li, a, ': ');
        } else add(li, label + ': ');
      }
      if (f.attr) add(li, 'attribute ' + f.attr + ': ');
      add(li, f.msg);
      if (f.loc) add(li, ' ', el('span', 'loc', '(' + f.loc + ')'));
      ul.appendChild(li);
    });
    return ul;
  }

  function drawAudit(t) {
    var s = el('section', 'trace-audit');
    add(s, el('h3', null, 'Audit records of this trace'));
    if (!hasChain()) add(s, el('p', 'none', 'no audit chain was given'));
    else if (!t.a.length) add(s, el('p', 'none', 'none'));
    else s.appendChild(recordTable(t.a, true));
    if (t.am) add(s, el('p', 'more', plural(t.am, 'more record') + ' not in this report: brain-audit show --trace-id ' + t.id + ' CHAIN'));
    view.appendChild(s);
  }

  function drawFindings(fs, title, cls) {
    var s = el('section', cls);
    add(s, el('h3', null, title));
    if (fs.length) s.appendChild(findingList(fs));
    else add(s, el('p', 'none', 'none'));
    view.appendChild(s);
  }

  function drawGenAI(g) {
    var s = el('section', 'trace-genai');
    add(s, el('h3', null, 'GenAI calls of this trace'));
    if (!g) { add(s, el('p', 'none', 'none')); view.appendChild(s); return; }
    var t = el('table', 'genai');
    var h = el('tr');
    ['provider', 'model', 'calls', 'failed', 'tokens in', 'tokens out', 'latency p50', 'max', 'total'].forEach(function (c) { h.appendChild(el('th', null, c)); });
    t.appendChild(add(el('thead'), h));
    var b = el('tbody');
    g.models.forEach(function (m) {
      var tr = el('tr');
      [m.provider, m.model, m.calls, m.failed, m.input_tokens, m.output_tokens, dur(m.latency_p50), dur(m.latency_max), dur(m.latency_total)].forEach(function (c) { tr.appendChild(el('td', null, c)); });
      b.appendChild(tr);
    });
    t.appendChild(b);
    s.appendChild(t);
    if (g.errors && g.errors.length) {
      var et = el('table', 'genai-errors');
      var eh = el('tr');
      ['error.type', 'failed calls', 'models'].forEach(function (c) { eh.appendChild(el('th', null, c)); });
      et.appendChild(add(el('thead'), eh));
      var eb = el('tbody');
      g.errors.forEach(function (e) {
        var tr = el('tr');
        [e.type, e.calls, e.models.join(', ')].forEach(function (c) { tr.appendChild(el('td', null, c)); });
        eb.appendChild(tr);
      });
      et.appendChild(eb);
      s.appendChild(et);
    }
    view.appendChild(s);
  }

  // The records and findings that belong to no trace of the report.
  function drawOutside() {
    var s = document.getElementById('outside');
    if (!D.ra.length && !D.rm && !D.re && !pageFindings.length && !D.fe) return;
    add(s, el('h2', null, 'Outside the traces of this report'));
    if (D.ra.length) {
      add(s, el('h3', null, 'Audit records that name no span'));
      var saved = cur;
      cur = { t: { id: '', r: [] } };
      s.appendChild(recordTable(D.ra, true));
      cur = saved;
    }
    if (D.rm) add(s, el('p', 'more', plural(D.rm, 'more record') + ' not in this report'));
    if (D.re) add(s, el('p', 'more', plural(D.re, 'audit record') + ' of traces that are not in this report'));
    if (pageFindings.length) {
      add(s, el('h3', null, 'Lint findings about no trace (input lines, the audit chain)'));
      s.appendChild(findingList(pageFindings));
    }
    if (D.fe) add(s, el('p', 'more', plural(D.fe, 'lint finding') + ' about traces that are not in this report'));
  }

  function route() {
    var h = location.hash.replace(/^#/, '');
    var params = {};
    h.split('&').forEach(function (p) {
      var i = p.indexOf('=');
      if (i <= 0) return;
      // An address edited by hand may hold a malformed escape: it selects nothing.
      try { params[p.slice(0, i)] = decodeURIComponent(p.slice(i + 1)); } catch (e) { /* ignored */ }
    });
    // Without a trace in the address, the first trace with an error span
    // is shown, or the first.
    var ti = 0;
    for (var k = 0; k < D.t.length; k++) if (D.t[k].x) { ti = k; break; }
    if (params.trace) {
      for (var i = 0; i < D.t.length; i++) if (D.t[i].id === params.trace) { ti = i; break; }
    }
    select(ti, params.span);
  }

  document.getElementById('traces').addEventListener('click', function (ev) {
    var tr = ev.target.closest('.trace-item');
    if (!tr || ev.target.closest('a')) return;
    location.hash = 'trace=' + D.t[Number(tr.getAttribute('data-trace'))].id;
  });
  window.addEventListener('hashchange', route);
  drawOutside();
  if (D.t.length) {
    route();
  } else {
    add(view, el('p', 'none', 'The input holds no span.'));
  }
  document.body.setAttribute('data-ready', 'true');
})();
