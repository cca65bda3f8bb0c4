// 兴医 province dashboard: a client of the hub's public GraphQL API only. Every request is one
// of the operations in crates/web/operations (window.XINGYI_OPERATIONS), posted to /graphql
// with the viewer's token. No build step, no other origin; charts by Apache ECharts.
(function () {
  'use strict';

  var OPS = window.XINGYI_OPERATIONS;
  var TOKEN_KEY = 'xingyi.token';
  var LANG_KEY = 'xingyi.lang';
  var P136 = 'Programme:140000:p136';

  // ---- words -------------------------------------------------------------------------------
  var WORDS = {
    zh: {
      title: '兴医 · 全省看板', 'nav.overview': '全省概览', 'nav.compare': '城市对比', 'nav.sync': '同步与健康',
      signout: '退出', footer: '数据来自省级枢纽的公开 GraphQL 接口', licenses: '开源许可',
      signin: '登录', 'signin.help': '粘贴令牌（JWT）。令牌只保存在本浏览器标签页中。',
      'signin.go': '进入看板', loading: '加载中…', programme: '“136”兴医工程', doc: '文号', period: '周期',
      components: '组成部分', units: '单位', targets: '目标', indicator: '指标', target: '目标', actual: '实绩',
      qualifier: '说明', year: '年份', city: '城市', cities: '各市', subprogramme: '承接方案', none: '无',
      reachability: '节点', breaker: '熔断器', answeredBy: '数据来源', named: '已命名', 'by.LIVE': '节点实时', 'by.REPLICA': '枢纽副本', 'by.PROVINCE': '省库', 'by.NONE': '无', lag: '同步滞后', lastPush: '最近推送',
      stale: '可能过时', fresh: '最新', compare: '对比', indicators: '指标', from: '起', to: '止', level: '层级',
      'level.CITY': '城市', 'level.INSTITUTION': '机构', 'level.UNIT': '单位', run: '查询', csv: '导出 CSV',
      xlsx: '导出 Excel', province: '全省合计', span: '区间合计', rate: '完成率', ranking: '排名', rank: '名次',
      caveats: '存疑', breakdown: '细分', plan: '年度计划', category: '类别', text: '内容', audit: '操作记录',
      actor: '操作人', op: '操作', at: '时间', entity: '对象', cursor: '游标', errors: '错误', calls: '调用',
      failures: '失败', snapshots: '快照', repairs: '修复', diverged: '不一致', lagChart: '同步滞后（变更条数）', stateChart: '节点状态（枢纽采样）', historyNote: '枢纽每隔一段时间采样一次各市状态，重启后重新开始。',
      unitsPerCity: '各市已列入的单位数', ambiguousNote: '存疑：文件未写明，按区间显示', noData: '没有数据',
      nodeDown: '节点不可用', exported: '已导出', notCombined: '不可合计', forbidden: '无权查看',
      goals: '全省目标进展', 'goals.help': '“136”工程的全省目标，对照省直机构与各市上报的实绩（由枢纽计算，不在浏览器中相加）', reported: '已报实绩'
    },
    en: {
      title: 'xingyi · Province dashboard', 'nav.overview': 'Overview', 'nav.compare': 'Compare', 'nav.sync': 'Sync & health',
      signout: 'Sign out', footer: "Data from the province hub's public GraphQL API", licenses: 'Licences',
      signin: 'Sign in', 'signin.help': 'Paste a token (JWT). It is kept in this browser tab only.',
      'signin.go': 'Open the dashboard', loading: 'Loading…', programme: 'The “136” programme', doc: 'Document',
      period: 'Period', components: 'Components', units: 'Units', targets: 'Targets', indicator: 'Indicator',
      target: 'Target', actual: 'Actual', qualifier: 'Qualifier', year: 'Year', city: 'City', cities: 'Cities',
      subprogramme: 'Sub-programme', none: 'none', reachability: 'Node', breaker: 'Breaker', answeredBy: 'Answered by', named: 'Named', 'by.LIVE': 'the node, live', 'by.REPLICA': "the hub's replica", 'by.PROVINCE': "the province's database", 'by.NONE': 'nothing',
      lag: 'Lag', lastPush: 'Last push', stale: 'stale', fresh: 'fresh', compare: 'Compare', indicators: 'Indicators',
      from: 'From', to: 'To', level: 'Level', 'level.CITY': 'City', 'level.INSTITUTION': 'Institution',
      'level.UNIT': 'Unit', run: 'Compare', csv: 'Export CSV', xlsx: 'Export Excel', province: 'Province total',
      span: 'Span total', rate: 'Achievement', ranking: 'Rankings', rank: 'Rank', caveats: 'Caveats',
      breakdown: 'Breakdown', plan: 'Yearly plan', category: 'Category', text: 'Text', audit: 'Audit trail',
      actor: 'Actor', op: 'Operation', at: 'At', entity: 'Entity', cursor: 'Cursor', errors: 'Errors', calls: 'Calls',
      failures: 'Failures', snapshots: 'Snapshots', repairs: 'Repairs', diverged: 'Diverged',
      lagChart: 'Replication lag (changes)', stateChart: 'Node state (sampled by the hub)', historyNote: 'The hub samples every city at a fixed interval; a restart starts the history afresh.', unitsPerCity: 'Units named per city', noData: 'No data',
      ambiguousNote: 'Ambiguous: the document leaves it open; shown as a range', nodeDown: 'node unavailable',
      exported: 'Exported', notCombined: 'not combined', forbidden: 'not yours to see',
      goals: 'Progress against the province goals', 'goals.help': "The 136 programme's province-wide targets against what the province's institutions and the cities reported (computed by the hub, never added up in the browser)", reported: 'Reported'
    }
  };
  var lang = localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'zh';
  function t(key) { return (WORDS[lang] && WORDS[lang][key]) || WORDS.zh[key] || key; }
  function nm(o) { return o ? (lang === 'en' ? (o.nameEn || o.nameZh) : (o.nameZh || o.nameEn)) : ''; }

  // ---- DOM ---------------------------------------------------------------------------------
  // Elements are built, never parsed from strings: the documents' words are data, not markup.
  function h(tag, attrs) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === 'text') el.textContent = v;
      else if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    });
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }
  function append(el, c) {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) { c.forEach(function (x) { append(el, x); }); return; }
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  function table(head, rows, attrs) {
    return h('table', attrs || {},
      h('thead', {}, h('tr', {}, head.map(function (x) { return h('th', {}, x); }))),
      h('tbody', {}, rows));
  }
  function badge(cls, text) { return h('span', { 'class': 'badge ' + cls }, text); }
  var view = document.getElementById('view');
  function show() {
    view.textContent = '';
    for (var i = 0; i < arguments.length; i++) append(view, arguments[i]);
  }
  function errorBox(e) { return h('div', { 'class': 'error', role: 'alert' }, String(e && e.message || e)); }

  // ---- the API -----------------------------------------------------------------------------
  function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }
  function gql(op, variables) {
    if (!OPS[op]) return Promise.reject(new Error('unknown operation ' + op));
    return fetch('/graphql', {
      method: 'POST', credentials: 'omit',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: 'Bearer ' + token() },
      body: JSON.stringify({ query: OPS[op], operationName: op, variables: variables || {} })
    }).then(function (r) {
      return r.json().catch(function () { throw new Error('HTTP ' + r.status); });
    }).then(function (body) {
      var errors = body.errors || [];
      var refused = errors.filter(function (e) {
        var c = e.extensions && e.extensions.code;
        return c === 'UNAUTHENTICATED' || c === 'FORBIDDEN';
      });
      if (!body.data || (refused.length && !errors.some(function (e) { return e.path; }))) {
        var first = errors[0] || { message: 'no data' };
        var err = new Error(first.message + (first.extensions ? ' (' + first.extensions.code + ')' : ''));
        err.code = first.extensions && first.extensions.code;
        throw err;
      }
      return { data: body.data, errors: errors };
    });
  }
  // Errors a partial answer carries, by the city they name.
  function cityErrors(errors) {
    var by = {};
    (errors || []).forEach(function (e) {
      var c = e.extensions && e.extensions.city;
      if (c) (by[c] = by[c] || []).push(e);
    });
    return by;
  }
  function errorText(list) {
    return list.map(function (e) {
      return e.message + (e.extensions && e.extensions.code ? ' (' + e.extensions.code + ')' : '');
    }).join('\n');
  }
  function isForbidden(list) {
    return (list || []).some(function (e) { return e.extensions && e.extensions.code === 'FORBIDDEN'; });
  }

  // ---- numbers -----------------------------------------------------------------------------
  function num(x) {
    if (x === null || x === undefined) return '';
    return Number.isInteger(x) ? String(x) : (Math.round(x * 100) / 100).toString();
  }
  // The range the scopes' own numbers span, for figures that are never added: " (5–10)".
  function spanned(lo, hi) {
    const has = (x) => x !== null && x !== undefined;
    if (!has(hi)) return '';
    if (!has(lo) || lo === hi) return ' (' + num(hi) + ')';
    return ' (' + num(lo) + '–' + num(hi) + ')';
  }
  function targetText(tg) {
    if (!tg) return '';
    if (tg.notCombined) return t('notCombined') + spanned(tg.smallest, tg.largest);
    switch (tg.comparator) {
      case 'EXACT': return num(tg.value);
      case 'AT_LEAST': return '≥ ' + num(tg.value);
      case 'AT_MOST': return '≤ ' + num(tg.value);
      case 'ABOUT': return '≈ ' + num(tg.value);
      case 'RANGE': return num(tg.min) + '–' + num(tg.max);
      default: return '?';
    }
  }
  function actualText(c) {
    if (c.actual !== null && c.actual !== undefined) return num(c.actual);
    if (c.actualMin !== null && c.actualMin !== undefined) return num(c.actualMin) + '–' + num(c.actualMax);
    if (c.notCombined) return t('notCombined');
    return '';
  }
  function rateText(c) {
    if (c.achievementRate !== null && c.achievementRate !== undefined) return Math.round(c.achievementRate * 1000) / 10 + '%';
    if (c.achievementRateLow !== null && c.achievementRateLow !== undefined)
      return Math.round(c.achievementRateLow * 1000) / 10 + '–' + Math.round(c.achievementRateHigh * 1000) / 10 + '%';
    return '';
  }
  function caveatText(c) {
    return (c.caveats || []).map(function (x) { return x.note || x.quote || ''; }).filter(Boolean).join('\n');
  }
  // The target as a bar: [base, height, isRange].
  function targetBar(tg) {
    if (!tg || tg.notCombined) return null;
    if (tg.comparator === 'RANGE') return [tg.min, tg.max - tg.min, true];
    if (tg.value === null || tg.value === undefined) return null;
    return [0, tg.value, false];
  }

  // ---- charts ------------------------------------------------------------------------------
  var charts = [];
  function disposeCharts() { charts.forEach(function (c) { c.dispose(); }); charts = []; }
  window.addEventListener('resize', function () { charts.forEach(function (c) { c.resize(); }); });
  function chart(el, option) {
    var c = echarts.init(el, null, { renderer: 'canvas' });
    // No animation: figures appear as they are (and screenshots show them).
    option.animation = false;
    c.setOption(option);
    charts.push(c);
    return c;
  }

  // ---- views -------------------------------------------------------------------------------
  var cityList = [];

  function renderNav(active) {
    document.querySelectorAll('#nav a').forEach(function (a) {
      a.classList.toggle('active', a.getAttribute('data-view') === active);
    });
    var links = document.getElementById('city-links');
    links.textContent = '';
    cityList.forEach(function (c) {
      append(links, h('a', { href: '#/city/' + c.code, 'data-view': 'city-' + c.code,
        'class': active === 'city-' + c.code ? 'active' : null }, nm(c)));
      append(links, ' ');
    });
  }

  function signin(message) {
    disposeCharts();
    var area = h('textarea', { id: 'token-input', placeholder: 'eyJ…' });
    show(h('section', { 'class': 'signin card' },
      h('h1', { text: t('signin') }),
      h('p', { text: t('signin.help') }),
      message ? errorBox(message) : null,
      area,
      h('div', { 'class': 'actions' }, h('button', { type: 'button', id: 'token-go', onclick: function () {
        sessionStorage.setItem(TOKEN_KEY, area.value.trim());
        start();
      } }, t('signin.go')))));
  }

  // 136's goals set against what was reported, as the hub computes them (`provinceGoals`);
  // null when the viewer may not compare the province (city staff).
  function goals(codes, cities) {
    if (!codes.length) return Promise.resolve(null);
    return gql('Goals', { indicators: codes, cities: ['140000'].concat(cities) })
      .then(function (r) { return r.data.compare; })
      .catch(function (e) { if (e.code === 'FORBIDDEN') return null; throw e; });
  }

  function goalsTable(cmp) {
    var names = {};
    cmp.indicators.forEach(function (i) { names[i.code] = i; });
    // Units the province named under a goal that counts them (136's leading specialties …).
    var named = {};
    (cmp.named || []).filter(function (n) { return n.region === '140000'; }).forEach(function (n) {
      var held = named[n.indicator] || { count: 0, names: [] };
      held.count += n.named;
      n.units.forEach(function (u) { held.names.push(u.nameZh); });
      named[n.indicator] = held;
    });
    return table([t('indicator'), t('period'), t('target'), t('named'), t('reported'), t('rate')],
      cmp.provinceGoalSpans.map(function (g) {
        var nd = named[g.indicator];
        var i = names[g.indicator];
        var rate = g.achievementRate !== null ? num(g.achievementRate * 100) + '%'
          : (g.achievementRateLow !== null ? num(g.achievementRateLow * 100) + '–' + num(g.achievementRateHigh * 100) + '%' : '—');
        return h('tr', { 'data-goal': g.indicator, 'class': g.ambiguousTerms ? 'ambiguous' : null },
          h('td', {}, i ? nm(i) : g.indicator),
          // The goal's own years (136's run from 2018), not the span the data happen to cover.
          h('td', { 'class': 'num' }, (g.targetFrom !== null ? g.targetFrom : g.from) + '–' + (g.targetTo !== null ? g.targetTo : g.to)),
          h('td', { 'class': 'num' }, targetText(g.target), i ? ' ' + i.unit : ''),
          h('td', { 'class': 'num', 'data-named': g.indicator, title: nd ? nd.names.join('、') : '' }, nd ? String(nd.count) : '—'),
          h('td', { 'class': 'num' }, g.actual === null ? '—' : num(g.actual)),
          h('td', { 'class': 'num' }, rate));
      }), { id: 'p136-goals' });
  }

  function overview() {
    return gql('Overview', { programme: P136 }).then(function (r) {
      var p = r.data.programme;
      var all = p.targets.nodes.slice();
      (p.allComponents || []).forEach(function (c) { all = all.concat(c.targets.nodes); });
      var codes = [];
      all.forEach(function (x) { if (codes.indexOf(x.indicatorCode) < 0) codes.push(x.indicatorCode); });
      var registered = (r.data.cities || []).filter(function (c) { return c.status.registered; })
        .map(function (c) { return c.code; });
      return goals(codes, registered).then(function (g) { return { r: r, goals: g }; });
    }).then(function (both) {
      var r = both.r;
      var p = r.data.programme;
      var cities = (r.data.cities || []).filter(function (c) { return c.status.registered; });
      var errs = cityErrors(r.errors);
      var comps = h('ul', { 'class': 'tree' }, (p.components || []).map(function (c) {
        return h('li', {}, nm(c), ' ', h('span', { 'class': 'muted' }, '(' + c.units.totalCount + ' ' + t('units') + ')'),
          c.children.length ? h('ul', {}, c.children.map(function (k) {
            return h('li', {}, nm(k), ' ', h('span', { 'class': 'muted' }, '(' + k.units.totalCount + ')'));
          })) : null);
      }));
      // The programme's own targets, then each component's, under its name.
      var allTargets = p.targets.nodes.map(function (x) { return [nm(p), x]; });
      (p.allComponents || []).forEach(function (c) {
        c.targets.nodes.forEach(function (x) { allTargets.push([nm(c), x]); });
      });
      var targets = table([t('components'), t('indicator'), t('target'), t('period'), t('qualifier')],
        allTargets.map(function (pair) {
          var x = pair[1];
          return h('tr', { 'data-target': x.id, 'class': x.ambiguous ? 'ambiguous' : null },
            h('td', {}, pair[0]),
            h('td', {}, x.indicator ? nm(x.indicator) : x.indicatorCode),
            h('td', { 'class': 'num', title: x.note || null }, targetText(x), x.unit || (x.indicator && x.indicator.unit) ? ' ' + (x.unit || x.indicator.unit) : ''),
            h('td', {}, x.period),
            h('td', {}, x.qualifier || '', x.note ? h('div', { 'class': 'muted' }, x.note) : null));
        }), { id: 'p136-targets' });
      var cards = h('div', { 'class': 'cards', id: 'city-cards' }, cities.map(function (c) {
        var progs = (c.programmes && c.programmes.nodes) || [];
        var units = progs.reduce(function (n, x) { return n + x.units.totalCount; }, 0);
        var down = errs[c.code];
        return h('article', { 'class': 'card', 'data-city': c.code },
          h('h3', {}, h('a', { href: '#/city/' + c.code }, nm(c)), ' ', h('span', { 'class': 'muted' }, c.code)),
          progs.length ? progs.map(function (x) {
            return h('div', {}, h('strong', {}, nm(x)), ' ', h('span', { 'class': 'muted' }, x.docNumber + ' · ' + x.period + ' · ' + x.relation));
          }) : h('div', { 'class': 'muted' }, down ? (isForbidden(down) ? t('forbidden') : t('nodeDown')) : t('none')),
          h('div', {}, t('units') + ': ', h('strong', { 'data-units': c.code }, progs.length ? String(units) : '—')),
          h('div', {}, t('reachability') + ' ', badge(c.status.reachability, c.status.reachability), ' ',
            t('breaker') + ' ', badge(c.status.breaker, c.status.breaker)),
          h('div', {}, t('answeredBy') + ' ', badge(c.freshness.stale ? 'stale' : 'fresh', t('by.' + c.freshness.answeredBy) + ' · ' + (c.freshness.stale ? t('stale') : t('fresh')))),
          c.sync ? h('div', { 'class': 'muted' }, t('lag') + ' ' + (c.sync.lag === null ? '—' : c.sync.lag) + ' · ' + t('lastPush') + ' ' + (c.sync.lastPushAt || '—')) : null,
          c.freshness.notice ? h('div', { 'class': 'notice' }, c.freshness.notice) : null,
          down ? h('div', { 'class': 'error', 'data-error': c.code }, errorText(down)) : null);
      }));
      var chartEl = h('div', { 'class': 'chart', id: 'units-chart' });
      show(h('h1', {}, nm(p)),
        h('p', { 'class': 'muted' }, t('doc') + ' ' + p.docNumber + ' · ' + t('period') + ' ' + p.period),
        p.summaryZh || p.summaryEn ? h('p', {}, lang === 'en' ? (p.summaryEn || p.summaryZh) : (p.summaryZh || p.summaryEn)) : null,
        both.goals ? h('h2', { text: t('goals') }) : null,
        both.goals ? h('p', { 'class': 'muted', text: t('goals.help') }) : null,
        both.goals ? goalsTable(both.goals) : null,
        h('h2', { text: t('cities') }), cards,
        h('h2', { text: t('unitsPerCity') }), chartEl,
        h('h2', { text: t('components') }), comps,
        h('h2', { text: t('targets') + ' (' + allTargets.length + ')' }), targets);
      chart(chartEl, {
        tooltip: {}, grid: { left: 40, right: 20, top: 20, bottom: 30 },
        xAxis: { type: 'category', data: cities.map(nm) },
        yAxis: { type: 'value', minInterval: 1 },
        series: [{ type: 'bar', name: t('units'), data: cities.map(function (c) {
          var progs = (c.programmes && c.programmes.nodes) || [];
          return progs.reduce(function (n, x) { return n + x.units.totalCount; }, 0);
        }) }]
      });
    });
  }

  var compareState = { indicators: ['beds_added', 'funding'], from: 2020, to: 2025, cities: null, level: 'CITY' };

  function compareVariables() {
    return {
      indicators: compareState.indicators,
      cities: compareState.cities,
      years: { from: compareState.from, to: compareState.to },
      level: compareState.level
    };
  }

  function compareView() {
    return gql('Indicators').then(function (r) {
      var inds = r.data.indicators;
      var cities = r.data.cities.filter(function (c) { return c.status.registered; });
      var sel = h('select', { multiple: true, id: 'cmp-indicators' }, inds.map(function (i) {
        return h('option', { value: i.code, selected: compareState.indicators.indexOf(i.code) >= 0 },
          nm(i) + ' (' + i.unit + ') · ' + i.code);
      }));
      var from = h('input', { type: 'number', id: 'cmp-from', value: compareState.from, min: 2000, max: 2100 });
      var to = h('input', { type: 'number', id: 'cmp-to', value: compareState.to, min: 2000, max: 2100 });
      var boxes = cities.map(function (c) {
        return h('label', {}, h('span', {}, h('input', { type: 'checkbox', value: c.code, 'class': 'cmp-city',
          checked: !compareState.cities || compareState.cities.indexOf(c.code) >= 0 }), ' ', nm(c)));
      });
      var level = h('select', { id: 'cmp-level' }, ['CITY', 'INSTITUTION', 'UNIT'].map(function (l) {
        return h('option', { value: l, selected: compareState.level === l }, t('level.' + l));
      }));
      var out = h('div', { id: 'cmp-result' });
      function run() {
        compareState.indicators = Array.prototype.filter.call(sel.options, function (o) { return o.selected; }).map(function (o) { return o.value; });
        compareState.from = parseInt(from.value, 10);
        compareState.to = parseInt(to.value, 10);
        var chosen = Array.prototype.filter.call(document.querySelectorAll('.cmp-city'), function (b) { return b.checked; }).map(function (b) { return b.value; });
        compareState.cities = chosen.length === cities.length ? null : chosen;
        compareState.level = level.value;
        out.textContent = t('loading');
        return gql('Compare', compareVariables()).then(function (res) {
          out.textContent = '';
          disposeCharts();
          renderComparison(out, res.data.compare, res.errors);
        }).catch(function (e) { out.textContent = ''; append(out, errorBox(e)); });
      }
      var form = h('form', { 'class': 'controls', id: 'cmp-form', onsubmit: function (e) { e.preventDefault(); run(); } },
        h('label', {}, t('indicators'), sel),
        h('label', {}, t('from'), from), h('label', {}, t('to'), to),
        h('fieldset', {}, h('legend', { text: t('cities') }), boxes),
        h('label', {}, t('level'), level),
        h('button', { type: 'submit', id: 'cmp-run' }, t('run')),
        h('button', { type: 'button', id: 'cmp-csv', onclick: function () { exportAs('CSV'); } }, t('csv')),
        h('button', { type: 'button', id: 'cmp-xlsx', onclick: function () { exportAs('XLSX'); } }, t('xlsx')));
      show(h('h1', { text: t('nav.compare') }), form, out);
      return run();
    });
  }

  function exportAs(format) {
    var v = compareVariables();
    v.format = format;
    return gql('CompareExport', v).then(function (r) {
      var x = r.data.compare['export'];
      var bin = atob(x.base64);
      var bytes = new Uint8Array(bin.length);
      for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      var url = URL.createObjectURL(new Blob([bytes], { type: x.mediaType }));
      var a = h('a', { href: url, download: x.filename, id: 'cmp-download' });
      document.body.appendChild(a);
      a.click();
      setTimeout(function () { URL.revokeObjectURL(url); a.remove(); }, 1000);
    }).catch(function (e) { append(document.getElementById('cmp-result'), errorBox(e)); });
  }

  function cellRow(scopeCode, scopeName, c, extraClass) {
    var cav = caveatText(c);
    var amb = c.ambiguousTerms > 0;
    var tg = c.target;
    return h('tr', { 'data-row': scopeCode + '|' + c.indicator + '|' + (c.year !== undefined ? c.year : c.from + '-' + c.to),
      'class': extraClass || null },
      h('td', {}, scopeName),
      h('td', {}, c.indicator),
      h('td', {}, c.year !== undefined ? String(c.year) : c.from + '–' + c.to),
      h('td', { 'class': 'num' + (tg && tg.comparator === 'RANGE' ? ' range' : '') + (amb ? ' ambiguous' : ''),
        'data-target': tg ? JSON.stringify({ comparator: tg.comparator, value: tg.value, min: tg.min, max: tg.max }) : '',
        title: cav || null }, targetText(tg), amb ? ' ⚠' : ''),
      h('td', { 'class': 'num', 'data-actual': c.actual === null || c.actual === undefined ? '' : String(c.actual) }, actualText(c)),
      h('td', { 'class': 'num' }, rateText(c)),
      h('td', { 'class': 'muted' }, amb ? (cav || t('ambiguousNote')) : ''));
  }

  function renderComparison(out, cmp, errors) {
    var indName = {};
    cmp.indicators.forEach(function (i) { indName[i.code] = nm(i) + ' (' + i.unit + ')'; });
    var byCity = cityErrors(errors);
    cmp.indicators.forEach(function (ind) {
      var years = cmp.years;
      var series = [];
      cmp.cities.forEach(function (city, ci) {
        var cells = {};
        city.cells.filter(function (c) { return c.indicator === ind.code; }).forEach(function (c) { cells[c.year] = c; });
        var base = [], height = [], actual = [];
        years.forEach(function (y) {
          var c = cells[y];
          var bar = c ? targetBar(c.target) : null;
          base.push(bar ? bar[0] : null);
          height.push(bar ? { value: bar[1], cell: c, range: bar[2],
            itemStyle: bar[2] || (c && c.ambiguousTerms) ? { opacity: 0.45, borderType: 'dashed', borderWidth: 1, borderColor: '#333' } : undefined,
            label: c && c.ambiguousTerms ? { show: true, position: 'top', formatter: '⚠' } : undefined } : null);
          actual.push(c && c.actual !== null && c.actual !== undefined ? { value: c.actual, cell: c } : null);
        });
        var stack = 'c' + ci;
        series.push({ type: 'bar', stack: stack, name: nm(city) + ' base', data: base, itemStyle: { color: 'transparent' },
          tooltip: { show: false }, silent: true, legendHoverLink: false });
        series.push({ type: 'bar', stack: stack, name: nm(city) + ' · ' + t('target'), data: height });
        series.push({ type: 'scatter', name: nm(city) + ' · ' + t('actual'), data: actual, symbol: 'diamond', symbolSize: 12 });
      });
      var el = h('div', { 'class': 'chart', 'data-indicator': ind.code });
      append(out, h('h2', {}, indName[ind.code]));
      append(out, el);
      chart(el, {
        legend: { top: 4, type: 'scroll', data: series.filter(function (s) { return !/ base$/.test(s.name); }).map(function (s) { return s.name; }) },
        grid: { left: 60, right: 20, top: 44, bottom: 30 },
        tooltip: { trigger: 'item', formatter: function (p) {
          var c = p.data && p.data.cell;
          if (!c) return '';
          var lines = [p.seriesName, t('year') + ' ' + c.year, t('target') + ': ' + targetText(c.target), t('actual') + ': ' + (actualText(c) || '—')];
          var cav = caveatText(c);
          if (cav) lines.push('⚠ ' + cav);
          return lines.map(function (s) { return String(s).replace(/[&<>]/g, function (ch) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;' }[ch]; }); }).join('<br>');
        } },
        xAxis: { type: 'category', data: years.map(String) },
        yAxis: { type: 'value', min: 0 },
        series: series
      });
    });
    var rows = [];
    cmp.provinceTotals.forEach(function (c) { rows.push(cellRow('140000', t('province'), c, 'province')); });
    cmp.cities.forEach(function (city) {
      city.cells.forEach(function (c) { rows.push(cellRow(city.code, nm(city), c)); });
      (city.breakdown || []).forEach(function (b) {
        b.cells.forEach(function (c) { rows.push(cellRow(city.code + '/' + b.id, nm(city) + ' · ' + (b.nameZh || b.id), c, 'breakdown')); });
      });
    });
    var head = [t('city'), t('indicator'), t('year'), t('target'), t('actual'), t('rate'), t('caveats')];
    append(out, h('h2', { text: t('compare') }));
    cmp.cities.forEach(function (city) {
      append(out, h('div', { 'class': 'muted', 'data-freshness': city.code }, nm(city) + ': ' + t('answeredBy') + ' ' + t('by.' + city.freshness.answeredBy) +
        (city.freshness.stale ? ' · ' + t('stale') : '') + (city.freshness.notice ? ' · ' + city.freshness.notice : '')));
      if (byCity[city.code]) append(out, errorBox(byCity[city.code].map(function (e) { return e.message; }).join('\n')));
    });
    append(out, rows.length ? table(head, rows, { id: 'cmp-table' }) : h('p', { text: t('noData') }));
    var spanRows = [];
    cmp.provinceSpans.forEach(function (c) { spanRows.push(cellRow('140000', t('province'), c, 'province')); });
    cmp.cities.forEach(function (city) { city.spans.forEach(function (c) { spanRows.push(cellRow(city.code, nm(city), c)); }); });
    append(out, h('h2', { text: t('span') }));
    append(out, table(head, spanRows, { id: 'cmp-spans' }));
    var rank = [];
    cmp.rankings.forEach(function (r) {
      r.entries.forEach(function (e) {
        rank.push(h('tr', {}, h('td', {}, r.indicator), h('td', {}, String(r.year)), h('td', { 'class': 'num' }, e.rank === null ? '—' : String(e.rank)),
          h('td', {}, e.nameZh), h('td', { 'class': 'num' }, num(e.actual)), h('td', { 'class': 'num' }, rateText(e))));
      });
    });
    if (rank.length) {
      append(out, h('h2', { text: t('ranking') }));
      append(out, table([t('indicator'), t('year'), t('rank'), t('city'), t('actual'), t('rate')], rank, { id: 'cmp-rankings' }));
    }
  }

  function cityView(code) {
    return gql('City', { code: code }).then(function (r) {
      var c = r.data.city;
      var progs = (c.programmes && c.programmes.nodes) || [];
      var parts = [h('h1', {}, nm(c), ' ', h('span', { 'class': 'muted' }, c.code)),
        h('p', { 'class': 'muted', 'data-freshness': c.code }, t('answeredBy') + ' ' + t('by.' + c.freshness.answeredBy) + (c.freshness.stale ? ' · ' + t('stale') : ''))];
      if (r.errors.length) parts.push(errorBox(r.errors.map(function (e) { return e.message; }).join('\n')));
      progs.forEach(function (p) {
        parts.push(h('h2', {}, nm(p)));
        parts.push(h('p', { 'class': 'muted' }, p.docNumber + ' · ' + p.period + ' · ' + (p.relation || '')));
        parts.push(h('ul', { 'class': 'tree' }, p.components.map(function (k) {
          return h('li', {}, nm(k), k.children.length ? h('ul', {}, k.children.map(function (x) { return h('li', {}, nm(x)); })) : null);
        })));
        parts.push(table([t('units'), '', t('target'), t('plan'), t('actual')], p.units.nodes.map(function (u) {
          var byYear = {};
          u.planItems.nodes.forEach(function (i) { var y = i.year || i.period; (byYear[y] = byYear[y] || []).push(i); });
          return h('tr', { 'data-unit': u.id },
            h('td', {}, h('strong', {}, nm(u)), h('div', { 'class': 'muted' }, u.institution ? nm(u.institution) : '')),
            h('td', {}, u.kind, u.targetLevel ? h('div', { 'class': 'muted' }, u.targetLevel + (u.targetYear ? ' · ' + u.targetYear : '')) : null),
            h('td', {}, u.targets.nodes.map(function (x) {
              return h('div', { 'class': x.ambiguous ? 'ambiguous' : null, title: x.note || null },
                (x.indicator ? nm(x.indicator) : x.indicatorCode) + ' ' + x.period + ': ' + targetText(x) +
                  ((x.unit || (x.indicator && x.indicator.unit)) ? ' ' + (x.unit || x.indicator.unit) : '') + (x.ambiguous ? ' ⚠' : ''));
            })),
            h('td', {}, Object.keys(byYear).sort().map(function (y) {
              return h('details', {}, h('summary', {}, y + ' (' + byYear[y].length + ')'), h('ul', {}, byYear[y].map(function (i) {
                return h('li', { 'class': i.ambiguous ? 'ambiguous' : null, title: i.note || null }, '[' + i.category + '] ' + i.text);
              })));
            })),
            h('td', {}, u.actuals.nodes.map(function (a) {
              return h('div', {}, (a.indicator ? nm(a.indicator) : a.indicatorCode) + ' ' + a.period + ': ' + num(a.value) +
                ((a.unit || (a.indicator && a.indicator.unit)) ? ' ' + (a.unit || a.indicator.unit) : ''));
            })));
        }), { 'class': 'units' }));
      });
      parts.push(h('h2', { text: t('audit') }));
      parts.push(table([t('cursor'), t('at'), t('entity'), t('op'), t('actor')], (c.auditTrail || []).map(function (a) {
        return h('tr', {}, h('td', { 'class': 'num' }, a.seq), h('td', {}, new Date(Number(a.atMs)).toISOString()),
          h('td', {}, a.entity + ' ' + a.recordId), h('td', {}, a.op + ' v' + a.version), h('td', {}, a.actor || ''));
      }), { id: 'audit' }));
      show(parts);
    });
  }

  var syncTimer = null;
  var STATE_COLOURS = ['#2e7d32', '#f9a825', '#c62828'];
  // A sample's state as a level: 0 up and calling, 1 probing or not yet known, 2 down or refused.
  function stateLevel(x) {
    if (x.breaker === 'OPEN' || x.reachability === 'DOWN') return 2;
    if (x.breaker === 'HALF_OPEN' || x.reachability === 'UNKNOWN') return 1;
    return 0;
  }
  // A time axis around the samples (a few minutes either side), not days around one point.
  function recentAxis() {
    return { type: 'time', min: function (v) { return v.min - 5 * 60000; }, max: function (v) { return v.max + 60000; } };
  }
  function syncView() {
    var chartEl = h('div', { 'class': 'chart', id: 'lag-chart' });
    var stateEl = h('div', { 'class': 'chart chart-short', id: 'state-chart' });
    var tableBox = h('div', { id: 'sync-table' });
    show(h('h1', { text: t('nav.sync') }), h('p', { 'class': 'muted', text: t('historyNote') }),
      h('h2', { text: t('lagChart') }), chartEl, h('h2', { text: t('stateChart') }), stateEl, tableBox);
    var lagChart = chart(chartEl, { tooltip: { trigger: 'axis' }, legend: { top: 4 }, grid: { left: 50, right: 20, top: 40, bottom: 30 },
      xAxis: recentAxis(), yAxis: { type: 'value', minInterval: 1 }, series: [] });
    var stateChart = chart(stateEl, {
      tooltip: { formatter: function (p) { return p.value[1] + ' · ' + p.value[3]; } },
      grid: { left: 90, right: 20, top: 10, bottom: 30 }, xAxis: recentAxis(), yAxis: { type: 'category', data: [] },
      series: [] });
    function tick() {
      return gql('Sync').then(function (r) {
        var cities = r.data.cities.filter(function (c) { return c.status.registered; });
        // The history is the hub's: the same for every viewer, from before the page was opened.
        // The hub's samples, then the state as it is now.
        var now = new Date().toISOString();
        lagChart.setOption({ series: cities.map(function (c) {
          var data = (c.syncHistory || []).filter(function (x) { return x.lag !== null; }).map(function (x) { return [x.at, Number(x.lag)]; });
          if (c.sync && c.sync.lag !== null) data.push([now, Number(c.sync.lag)]);
          return { type: 'line', name: nm(c), showSymbol: data.length < 3, data: data };
        }) });
        var points = [];
        cities.forEach(function (c) {
          (c.syncHistory || []).forEach(function (x) {
            var level = stateLevel(x);
            points.push({ value: [x.at, nm(c), level, [x.reachability, x.breaker, x.nodeErrorCode, x.syncErrorCode].filter(Boolean).join(' · ')],
              itemStyle: { color: STATE_COLOURS[level] } });
          });
        });
        stateChart.setOption({ yAxis: { data: cities.map(nm) }, series: [{ type: 'scatter', symbol: 'rect', symbolSize: [6, 14], data: points }] });
        tableBox.textContent = '';
        append(tableBox, table([t('city'), t('reachability'), t('breaker'), t('lag'), t('cursor'), t('lastPush'), t('calls'), t('failures'), t('snapshots'), t('repairs'), t('diverged'), t('errors')],
          cities.map(function (c) {
            var s = c.sync || {};
            return h('tr', { 'data-city': c.code, 'data-samples': String((c.syncHistory || []).length) },
              h('td', {}, nm(c)), h('td', {}, badge(c.status.reachability, c.status.reachability), c.status.lastLatencyMs !== null ? ' ' + c.status.lastLatencyMs + ' ms' : ''),
              h('td', {}, badge(c.status.breaker, c.status.breaker)),
              h('td', { 'class': 'num', 'data-lag': c.code }, s.lag === null || s.lag === undefined ? '—' : s.lag),
              h('td', { 'class': 'num' }, (s.appliedSeq || '—') + ' / ' + (s.nodeSeq || '—')),
              h('td', {}, s.lastPushAt || '—'),
              h('td', { 'class': 'num' }, String(c.status.calls)), h('td', { 'class': 'num' }, String(c.status.failures)),
              h('td', { 'class': 'num' }, s.snapshots === undefined ? '' : String(s.snapshots)), h('td', { 'class': 'num' }, s.repairs === undefined ? '' : String(s.repairs)),
              h('td', {}, s.diverged || ''),
              h('td', {}, [c.status.lastErrorCode, c.status.lastError, s.lastErrorCode, s.lastError].filter(Boolean).join(' · ')));
          }), { id: 'sync' }));
      });
    }
    syncTimer = setInterval(function () { tick().catch(function () {}); }, 5000);
    return tick();
  }

  // ---- routing -----------------------------------------------------------------------------
  function applyWords() {
    document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
    document.querySelectorAll('[data-t]').forEach(function (el) { el.textContent = t(el.getAttribute('data-t')); });
    document.getElementById('lang').textContent = lang === 'en' ? '中文' : 'English';
    document.title = t('title');
  }

  // The registered cities (for the navigation), then the view the address names.
  function start() {
    return (token() ? gql('Indicators').then(function (r) {
      cityList = r.data.cities.filter(function (c) { return c.status.registered; });
    }).catch(function () {}) : Promise.resolve()).then(route);
  }

  function route() {
    if (syncTimer) { clearInterval(syncTimer); syncTimer = null; }
    disposeCharts();
    if (!token()) { renderNav(''); signin(); return Promise.resolve(); }
    var hash = window.location.hash.replace(/^#\/?/, '') || 'overview';
    var parts = hash.split('/');
    var name = parts[0], work, active = name;
    if (name === 'compare') work = compareView;
    else if (name === 'sync') work = syncView;
    else if (name === 'city' && /^\d{6}$/.test(parts[1] || '')) { work = function () { return cityView(parts[1]); }; active = 'city-' + parts[1]; }
    else { work = overview; active = 'overview'; }
    renderNav(active);
    show(h('p', { 'class': 'muted', text: t('loading') }));
    document.body.setAttribute('data-state', 'loading');
    return work().then(function () {
      document.body.setAttribute('data-state', 'ready');
      document.body.setAttribute('data-view', active);
    }).catch(function (e) {
      document.body.setAttribute('data-state', 'error');
      if (e.code === 'UNAUTHENTICATED') { sessionStorage.removeItem(TOKEN_KEY); signin(e); return; }
      show(errorBox(e));
    });
  }

  // A link from `xingyi local` carries the token in the fragment (never sent to a server).
  var fromLink = /(?:^|[#&])token=([^&]+)/.exec(window.location.hash);
  if (fromLink) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(fromLink[1]));
    history.replaceState(null, '', window.location.pathname + '#/overview');
  }
  document.getElementById('lang').addEventListener('click', function () {
    lang = lang === 'en' ? 'zh' : 'en';
    localStorage.setItem(LANG_KEY, lang);
    applyWords();
    route();
  });
  document.getElementById('signout').addEventListener('click', function () {
    sessionStorage.removeItem(TOKEN_KEY);
    route();
  });
  window.addEventListener('hashchange', route);
  applyWords();
  start();
})();
