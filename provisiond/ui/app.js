// provisiond web console: plain JavaScript, no framework, no build step.
//
// The API token is kept in sessionStorage (this tab only) and sent in the
// Authorization header; it never goes into a URL. Live updates come from
// GET /v1/stream (server-sent events) read with fetch(), since EventSource
// cannot send headers. Every view reads the same API a script would; what a
// view shows and which buttons exist follow the caller's role
// (GET /v1/whoami). Elements are built with h(), never from HTML strings,
// so nothing the API returns is ever parsed as markup.
'use strict';

const TOKEN_KEY = 'provisiond.token';
const STAFF = ['admin', 'tech'];
const STATES = ['enrolled', 'verifying', 'inspecting', 'cleaning', 'available', 'deploying',
  'active', 'releasing', 'maintenance', 'failed', 'retired'];

const S = {
  token: null, me: null, machines: new Map(), allocs: new Map(),
  stream: null, live: false, refreshTimer: null, view: null, viewGen: 0,
};

// ------------------------------------------------------------------ helpers

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : String(kid));
  }
  return el;
}

const $ = (sel, root = document) => root.querySelector(sel);
const isStaff = () => S.me && STAFF.includes(S.me.role);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function fmtTime(iso) {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/Z$/, ' UTC') : '—';
}

function badge(state) {
  return h('span', { class: `badge st-${state}` }, state);
}

function machineLink(id, label) {
  return h('a', { href: `#/machine/${encodeURIComponent(id)}`, 'data-key': `m-${id}` }, label);
}

function machineName(id) {
  const m = S.machines.get(id);
  return m ? m.name : id;
}

class ApiError extends Error {
  constructor(status, err) {
    super(err && err.message ? err.message : `HTTP ${status}`);
    this.status = status;
    this.code = err ? err.code : '';
    this.field = err ? err.field : undefined;
  }
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${S.token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method, headers, cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
  if (res.status === 401 && path !== '/v1/whoami') {
    logout('The token was refused (revoked or unknown): log in again.');
  }
  if (!res.ok) throw new ApiError(res.status, json && json.error);
  return json;
}

async function listAll(path) {
  const items = [];
  let cursor = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api('GET', `${path}${sep}limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

let toastTimer = null;
function toast(msg) {
  const t = $('#toast');
  t.textContent = msg;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.textContent = ''; }, 6000);
}

function errorText(e) {
  return e instanceof ApiError ? `${e.message}${e.field ? ` (field ${e.field})` : ''}` : String(e);
}

// Re-renders without losing the keyboard focus of an element that has a data-key.
function keepFocus(fn) {
  const active = document.activeElement;
  const key = active && active.dataset ? active.dataset.key : null;
  const onTitle = active && active.matches && active.matches('#view h1');
  fn();
  if (onTitle) {
    const h1 = $('#view h1');
    if (h1) { h1.tabIndex = -1; h1.focus(); }
  } else if (key) {
    const el = document.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (el) el.focus();
  }
}

// ------------------------------------------------------------ session, data

async function loadCache() {
  const [machines, allocs] = await Promise.all([
    listAll('/v1/machines'), listAll('/v1/allocations')]);
  S.machines = new Map(machines.map((m) => [m.id, m]));
  S.allocs = new Map(allocs.map((a) => [a.id, a]));
}

function setLive(on, text) {
  S.live = on;
  const el = $('#live');
  el.textContent = text || (on ? 'Live' : 'Reconnecting…');
  el.classList.toggle('off', !on);
}

function handleEvent(kind, data) {
  if (kind === 'hello') {
    setLive(true);
    loadCache().then(() => refresh(true)).catch((e) => toast(errorText(e)));
    return;
  }
  if (kind === 'resync') {
    loadCache().then(() => refresh(true)).catch((e) => toast(errorText(e)));
    return;
  }
  let obj;
  try { obj = JSON.parse(data); } catch (e) { return; }
  if (kind === 'machine') S.machines.set(obj.id, obj);
  else if (kind === 'machine_deleted') S.machines.delete(obj.id);
  else if (kind === 'allocation') S.allocs.set(obj.id, obj);
  else if (kind !== 'freeze') return;
  scheduleRefresh(kind, obj);
}

function handleBlock(block) {
  let kind = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (!line || line.startsWith(':')) continue;
    const i = line.indexOf(':');
    const k = i < 0 ? line : line.slice(0, i);
    const v = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
    if (k === 'event') kind = v;
    else if (k === 'data') data.push(v);
  }
  if (data.length || kind !== 'message') handleEvent(kind, data.join('\n'));
}

// Reads GET /v1/stream for as long as the session lasts; reconnects after a
// drop (a daemon restart) with backoff, and when nothing (not even the
// 10 s keep-alive) arrived for 45 s.
async function streamLoop(token) {
  let delay = 1000;
  while (S.token === token) {
    const ctrl = new AbortController();
    S.stream = ctrl;
    let watchdog = null;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => ctrl.abort(), 45000);
    };
    try {
      arm();
      const res = await fetch('/v1/stream', {
        headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' },
        cache: 'no-store', signal: ctrl.signal,
      });
      if (res.status === 401) { logout('The token was refused: log in again.'); return; }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        arm();
        delay = 1000;
        buf += dec.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          handleBlock(buf.slice(0, i));
          buf = buf.slice(i + 2);
        }
      }
    } catch (e) {
      // a refused connection while the daemon restarts: try again below
    } finally {
      clearTimeout(watchdog);
    }
    if (S.token !== token) return;
    setLive(false);
    await sleep(delay);
    delay = Math.min(delay * 2, 8000);
  }
}

async function login(token) {
  S.token = token;
  try {
    S.me = await api('GET', '/v1/whoami');
  } catch (e) {
    S.token = null;
    throw e;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  $('#login').hidden = true;
  $('#nav').hidden = false;
  $('#session').hidden = false;
  $('#who').textContent = `${S.me.actor} (${S.me.role}${S.me.owner ? `, owner ${S.me.owner}` : ''})`;
  for (const li of document.querySelectorAll('#nav li')) {
    li.hidden = !li.dataset.roles.split(' ').includes(S.me.role);
  }
  setLive(false, 'Connecting…');
  await loadCache();
  streamLoop(token);
  if (!location.hash || location.hash === '#' || location.hash === '#/login') {
    location.hash = isStaff() ? '#/fleet' : '#/allocations';
  } else {
    route();
  }
}

function logout(message, focus = true) {
  sessionStorage.removeItem(TOKEN_KEY);
  S.token = null;
  S.me = null;
  if (S.stream) S.stream.abort();
  S.machines.clear();
  S.allocs.clear();
  $('#nav').hidden = true;
  $('#session').hidden = true;
  $('#view').replaceChildren();
  $('#login').hidden = false;
  $('#token-error').textContent = message || '';
  $('#token').setAttribute('aria-invalid', message ? 'true' : 'false');
  $('#token').value = '';
  if (focus) $('#token').focus();
}

// ------------------------------------------------------------------ routing

const VIEWS = {};

function route() {
  if (!S.me) return;
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  let name = parts[0] || 'fleet';
  if (!VIEWS[name]) name = 'fleet';
  const v = VIEWS[name];
  if (!v.roles.includes(S.me.role)) {
    name = 'allocations';
  }
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.getAttribute('href') === `#/${name}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  S.view = { name, params: parts.slice(1), gen: ++S.viewGen };
  const root = $('#view');
  root.replaceChildren();
  const gen = S.view.gen;
  VIEWS[name].build(S.view.params, gen)
    .then((nodes) => {
      if (!nodes || !current(gen)) return;
      root.replaceChildren(...nodes.filter(Boolean));
      const h1 = $('#view h1');
      if (h1) { h1.tabIndex = -1; h1.focus(); }
    })
    .catch((e) => {
      if (current(gen)) root.replaceChildren(h('p', { class: 'alert', role: 'alert' }, errorText(e)));
    });
}

// After a change (or a reconnect, all = true): a live view is built again
// and swapped in, keeping the keyboard focus; others refresh their own way.
function refresh(all, kind, obj) {
  if (!S.view) return;
  const v = VIEWS[S.view.name];
  const gen = S.view.gen;
  if (v.refresh) {
    v.refresh(all, kind, obj, gen);
  } else if (v.live) {
    v.build(S.view.params, gen).then((nodes) => {
      if (nodes && current(gen)) keepFocus(() => $('#view').replaceChildren(...nodes.filter(Boolean)));
    }).catch((e) => toast(errorText(e)));
  }
}

function scheduleRefresh(kind, obj) {
  const v = S.view && VIEWS[S.view.name];
  if (v && v.onEvent) v.onEvent(kind, obj, S.view.gen);
  clearTimeout(S.refreshTimer);
  S.refreshTimer = setTimeout(() => refresh(false, kind, obj), 250);
}

const current = (gen) => S.view && S.view.gen === gen;

// -------------------------------------------------------------------- fleet

function stateCounts(machines) {
  const c = {};
  for (const m of machines) c[m.state] = (c[m.state] || 0) + 1;
  return c;
}

function progressOf(a) {
  const done = a.machines.filter((m) => m.state === 'active').length;
  return h('span', {},
    h('progress', { max: a.count, value: done, 'aria-label': `${a.name}: ${done} of ${a.count} active` }),
    ` ${done} of ${a.count} active`);
}

async function fleetData() {
  const staff = isStaff();
  const [cap, freeze, circuits] = await Promise.all([
    api('GET', '/v1/capacity'),
    staff ? api('GET', '/v1/freeze') : null,
    staff ? api('GET', '/v1/bmc/circuits') : null]);
  return { cap, freeze, circuits };
}

function freezeCard(freeze) {
  if (!freeze) return null;
  return h('section', { class: 'card', 'aria-labelledby': 'fz' },
    h('h2', { id: 'fz' }, 'Freeze'),
    freeze.frozen
      ? h('p', { class: 'alert', role: 'alert' },
        `The fleet is FROZEN by ${freeze.by || 'unknown'}: ${freeze.reason || 'no reason given'}. `
        + 'Power and deploy actions are refused.')
      : h('p', { class: 'alert ok' }, 'Not frozen: power and deploy actions run.'));
}

function capacityTable(cap) {
  const skus = Object.entries(cap.skus || {});
  const cols = STATES.filter((s) => skus.some(([, c]) => c[s]));
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('caption', { class: 'hint' }, 'Machines per SKU and state'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'SKU'),
      cols.map((s) => h('th', { scope: 'col', class: 'num' }, s)),
      h('th', { scope: 'col', class: 'num' }, 'total'))),
    h('tbody', {}, skus.map(([sku, c]) => h('tr', {},
      h('th', { scope: 'row' }, sku),
      cols.map((s) => h('td', { class: 'num' }, c[s] || 0)),
      h('td', { class: 'num' }, cols.reduce((n, s) => n + (c[s] || 0), 0)))))));
}

function failingList() {
  const failing = [...S.machines.values()].filter((m) => m.state === 'failed' || m.last_error);
  if (!failing.length) return h('p', {}, 'No machine is failing.');
  return h('ul', {}, failing.map((m) => h('li', {}, machineLink(m.id, m.name), ' ', badge(m.state),
    h('div', { class: 'last-error' }, m.last_error || 'failed (no error recorded)'))));
}

function circuitList(circuits) {
  if (!circuits) return null;
  return h('section', { class: 'card', 'aria-labelledby': 'cb' },
    h('h2', { id: 'cb' }, 'BMCs with an open circuit breaker'),
    circuits.items.length
      ? h('ul', {}, circuits.items.map((c) => h('li', {}, machineLink(c.machine, machineName(c.machine)),
        `: ${c.state.replace('_', '-')} after ${c.failures} failed calls`,
        c.retry_in_ms ? `, next try in ${Math.ceil(c.retry_in_ms / 1000)} s` : '')))
      : h('p', {}, 'Every BMC answers (no breaker open).'));
}

function inFlight() {
  const list = [...S.allocs.values()].filter((a) => a.state === 'deploying' || a.state === 'releasing');
  if (!list.length) return h('p', {}, 'No allocation is deploying or releasing.');
  return h('ul', {}, list.map((a) => h('li', {}, h('a', { href: '#/allocations' }, a.name),
    ` (${a.owner}, ${a.sku}) `, badge(a.state), ' ', progressOf(a))));
}

async function buildFleet(params, gen) {
  const d = await fleetData();
  if (!current(gen)) return null;
  const counts = stateCounts(S.machines.values());
  return [
    h('h1', {}, 'Fleet'),
    freezeCard(d.freeze),
    h('div', { class: 'grid' },
      h('section', { class: 'card', 'aria-labelledby': 'bs' },
        h('h2', { id: 'bs' }, isStaff() ? 'Machines by state' : 'Your machines by state'),
        h('ul', { class: 'legend' }, STATES.filter((s) => counts[s])
          .map((s) => h('li', {}, badge(s), ` ${counts[s]}`))),
        S.machines.size ? null : h('p', {}, 'No machines.')),
      h('section', { class: 'card', 'aria-labelledby': 'af' },
        h('h2', { id: 'af' }, 'Allocations in flight'), inFlight())),
    h('section', { class: 'card', 'aria-labelledby': 'cp' },
      h('h2', { id: 'cp' }, 'Capacity per SKU'), capacityTable(d.cap)),
    h('section', { class: 'card', 'aria-labelledby': 'fm' },
      h('h2', { id: 'fm' }, 'Failing machines'), failingList()),
    circuitList(d.circuits)];
}

VIEWS.fleet = { roles: ['admin', 'tech', 'service'], build: buildFleet, live: true };

// -------------------------------------------------------------------- racks

const RACK_UNITS = 42;

function rackUnits(machines) {
  const top = Math.max(RACK_UNITS, ...machines.map((m) => m.location.unit || 0));
  const byUnit = new Map();
  for (const m of machines) {
    if (m.location.unit === null || m.location.unit === undefined) continue;
    if (!byUnit.has(m.location.unit)) byUnit.set(m.location.unit, []);
    byUnit.get(m.location.unit).push(m);
  }
  const units = [];
  for (let u = top; u >= 1; u--) {
    const here = byUnit.get(u) || [];
    units.push(h('li', { class: 'unit' },
      h('span', { class: 'u', 'aria-hidden': 'true' }, `U${u}`),
      here.length
        ? here.map((m) => h('a', {
          class: `slot st-${m.state}`, href: `#/machine/${encodeURIComponent(m.id)}`, 'data-key': `m-${m.id}`,
        }, h('span', { class: 'sr-only' }, `U${u}:`),
        h('span', { class: 'name' }, m.name),
        h('span', { class: 'state' }, m.state),
        m.maintenance && m.state !== 'maintenance' ? h('span', { class: 'sr-only' }, ', in maintenance') : null))
        : h('span', { class: 'slot empty' }, h('span', { class: 'sr-only' }, `U${u} `), 'empty')));
  }
  return units;
}

function groupBy(list, key) {
  const out = new Map();
  for (const x of list) {
    const k = key(x);
    if (!out.has(k)) out.set(k, []);
    out.get(k).push(x);
  }
  return new Map([...out.entries()].sort((a, b) => String(a[0]).localeCompare(String(b[0]))));
}

async function buildRacks(params) {
  const all = [...S.machines.values()].filter((m) => m.state !== 'retired');
  const placed = all.filter((m) => m.location.rack);
  const unplaced = all.filter((m) => !m.location.rack);
  const sites = groupBy(placed, (m) => m.location.site || '(no site)');
  const site = params[0] && sites.has(params[0]) ? params[0] : null;
  const nodes = [h('h1', {}, site ? `Racks at ${site}` : 'Racks')];
  if (sites.size > 1) {
    nodes.push(h('nav', { 'aria-label': 'Sites' }, h('ul', { class: 'legend' },
      h('li', {}, h('a', { href: '#/racks', 'aria-current': site ? null : 'page' }, 'All sites')),
      [...sites.keys()].map((s) => h('li', {}, h('a', {
        href: `#/racks/${encodeURIComponent(s)}`, 'aria-current': s === site ? 'page' : null,
      }, s))))));
  }
  nodes.push(h('p', { class: 'hint' }, 'Each unit shows its machine and state; empty units are where new machines go. ',
    'Select a machine to open it.'));
  let si = 0;
  for (const [s, ms] of sites) {
    si++;
    if (site && s !== site) continue;
    const racks = groupBy(ms, (m) => m.location.rack);
    nodes.push(h('section', { 'aria-labelledby': `site-${si}` },
      h('h2', { id: `site-${si}` }, s === '(no site)' ? 'No site given' : `Site ${s}`),
      h('div', { class: 'racks' }, [...racks].map(([r, rm], ri) => h('section', {
        class: 'rack', 'aria-labelledby': `rack-${si}-${ri}`,
      }, h('h3', { id: `rack-${si}-${ri}` }, `Rack ${r}`,
        h('span', { class: 'hint' }, ` (${rm.length} machine${rm.length === 1 ? '' : 's'})`)),
      h('ol', { 'aria-label': `Rack ${r} units, top to bottom` }, rackUnits(rm)))))));
  }
  if (!sites.size) nodes.push(h('p', {}, 'No machine has a location yet. ', h('a', { href: '#/enroll' }, 'Enroll one.')));
  if (unplaced.length) {
    nodes.push(h('section', { class: 'card', 'aria-labelledby': 'unplaced' },
      h('h2', { id: 'unplaced' }, 'Machines without a rack location'),
      h('ul', {}, unplaced.map((m) => h('li', {}, machineLink(m.id, m.name), ' ', badge(m.state))))));
  }
  return nodes;
}

VIEWS.racks = { roles: STAFF, build: buildRacks, live: true };

// ------------------------------------------------------------------ machine

function kv(pairs) {
  return h('dl', { class: 'kv' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function machineInfo(m) {
  const loc = m.location || {};
  const alloc = m.allocation_id ? S.allocs.get(m.allocation_id) : null;
  return [
    m.last_error ? h('div', { class: 'last-error', role: 'alert' }, h('span', {}, 'Last error: '), m.last_error) : null,
    h('div', { class: 'grid' },
      h('section', { class: 'card', 'aria-labelledby': 'mi' }, h('h2', { id: 'mi' }, 'Identity'),
        kv([['State', h('span', { id: 'm-state' }, badge(m.state), m.phase ? ` (${m.phase})` : '')],
          ['Since', fmtTime(m.state_since)],
          ['Maintenance', m.maintenance ? `yes: ${m.maintenance_reason || 'no reason given'}` : 'no'],
          ['ID', h('span', { class: 'mono' }, m.id)],
          ['Location', loc.site ? `site ${loc.site}, rack ${loc.rack || '?'}, unit ${loc.unit ?? '?'}` : 'unknown'],
          ['SKU', m.sku || 'not matched yet'],
          ['MACs', (m.macs || []).join(', ') || 'none'],
          ['Power', m.power],
          ['Attempts', String(m.attempts ?? 0)],
          ['Deadline', fmtTime(m.deadline_at)]])),
      h('section', { class: 'card', 'aria-labelledby': 'mb' }, h('h2', { id: 'mb' }, 'BMC and allocation'),
        kv([m.bmc ? ['BMC driver', m.bmc.driver] : ['BMC', isStaff() ? 'no BMC access yet' : 'not shown'],
          m.bmc ? ['BMC address', m.bmc.address || '—'] : null,
          m.bmc ? ['BMC user', m.bmc.username || '—'] : null,
          m.bmc ? ['BMC options', h('code', {}, JSON.stringify(m.bmc.options || {}))] : null,
          ['Allocation', m.allocation_id ? h('a', { href: '#/allocations' }, alloc ? alloc.name : m.allocation_id) : 'none'],
          ['Owner', m.owner || '—']]))),
    h('section', { class: 'card', 'aria-labelledby': 'mf' }, h('h2', { id: 'mf' }, 'Hardware facts'),
      m.facts ? h('details', {}, h('summary', {}, factsSummary(m.facts)),
        h('pre', { class: 'mono' }, JSON.stringify(m.facts, null, 2))) : h('p', {}, 'None reported yet.')),
  ];
}

function factsSummary(f) {
  const parts = [];
  if (f.cpu) parts.push(`${f.cpu.cores || f.cpu.count || '?'} cores`);
  if (f.memory_mib || (f.memory && f.memory.mib)) parts.push(`${f.memory_mib || f.memory.mib} MiB`);
  if (Array.isArray(f.disks)) parts.push(`${f.disks.length} disk(s)`);
  if (Array.isArray(f.nics)) parts.push(`${f.nics.length} NIC(s)`);
  return parts.length ? parts.join(', ') : 'Show the facts';
}

function timeline(events) {
  if (!events.length) return h('p', {}, 'No events yet.');
  return h('ol', { class: 'timeline' }, events.slice().reverse().map((e) => h('li', {},
    h('time', { datetime: e.at }, fmtTime(e.at)), ' ',
    e.from ? [badge(e.from), ' → '] : '', badge(e.to),
    h('div', {}, `${e.actor}${e.reason ? `: ${e.reason}` : ''}`))));
}

async function loadEvents(id) {
  const evs = await listAll(`/v1/machines/${encodeURIComponent(id)}/events`);
  return evs.map((e) => ({ at: e.at, from: e.from, to: e.to, actor: e.actor, reason: e.reason }));
}

function statusLine(region, msg, ok) {
  region.replaceChildren(h('p', { class: ok ? 'alert ok' : 'alert', role: ok ? 'status' : 'alert' }, msg));
}

function machineActions(m, region, reload) {
  const id = encodeURIComponent(m.id);
  const run = async (label, method, path, body, after) => {
    try {
      await api(method, path, body);
      statusLine(region, `${label}: done.`, true);
      if (after) after(); else reload(true);
    } catch (e) {
      statusLine(region, `${label} failed: ${errorText(e)}`, false);
    }
  };
  const act = (action, label, extra) => run(label, 'POST', `/v1/machines/${id}/actions`, { action, ...extra });
  const reason = h('input', { id: 'maint-reason', type: 'text', maxlength: '255', 'data-key': 'maint-reason' });
  const maint = m.maintenance || m.state === 'maintenance'
    ? h('fieldset', {}, h('legend', {}, 'Maintenance'),
      h('button', { type: 'button', 'data-key': 'maint-off', onclick: () => act('maintenance_off', 'End maintenance') }, 'End maintenance'))
    : h('fieldset', {}, h('legend', {}, 'Maintenance'),
      h('div', { class: 'field' }, h('label', { for: 'maint-reason' }, 'Reason'), reason),
      h('button', {
        type: 'button', 'data-key': 'maint-on',
        onclick: () => act('maintenance_on', 'Maintenance on', reason.value ? { reason: reason.value } : {}),
      }, 'Put in maintenance'));
  const bootdev = h('select', { id: 'bootdev' }, ['pxe', 'disk', 'cd'].map((d) => h('option', { value: d }, d)));
  const persistent = h('input', { id: 'bootdev-persistent', type: 'checkbox' });
  const confirmBox = h('div', { 'aria-live': 'polite' });
  const confirm = (what, label, doit) => {
    confirmBox.replaceChildren(h('div', { class: 'confirm', role: 'group', 'aria-label': `Confirm ${label}` },
      h('p', {}, what),
      h('button', { type: 'button', class: 'danger', onclick: doit }, label),
      ' ',
      h('button', { type: 'button', onclick: () => confirmBox.replaceChildren() }, 'Cancel')));
    confirmBox.querySelector('button').focus();
  };
  return h('section', { class: 'card', 'aria-labelledby': 'ma' },
    h('h2', { id: 'ma' }, 'Actions'),
    h('div', { class: 'actions' },
      maint,
      h('fieldset', {}, h('legend', {}, 'Lifecycle'),
        m.state === 'failed' ? h('button', { type: 'button', onclick: () => act('repair', 'Repair') }, 'Repair') : null,
        h('button', { type: 'button', onclick: () => act('inspect', 'Inspect') }, 'Inspect again'),
        h('button', {
          type: 'button', class: 'danger',
          onclick: () => confirm(`Retire ${m.name}? A retired machine never returns to the pool.`, `Retire ${m.name}`,
            () => { confirmBox.replaceChildren(); act('retire', 'Retire'); }),
        }, 'Retire…'),
        h('button', {
          type: 'button', class: 'danger',
          onclick: () => confirm(`Delete ${m.name} for good? Only machines enrolled and never allocated, failed or retired can be deleted.`,
            `Delete ${m.name}`, () => run('Delete', 'DELETE', `/v1/machines/${id}`, undefined,
              () => { location.hash = '#/racks'; })),
        }, 'Delete…')),
      h('fieldset', {}, h('legend', {}, 'Power'),
        ['on', 'off', 'cycle'].map((a) => h('button', {
          type: 'button', onclick: () => run(`Power ${a}`, 'PUT', `/v1/machines/${id}/power`, { action: a }),
        }, `Power ${a}`))),
      h('fieldset', {}, h('legend', {}, 'Boot device'),
        h('div', { class: 'field' }, h('label', { for: 'bootdev' }, 'Device'), bootdev),
        h('div', { class: 'field' }, h('label', { for: 'bootdev-persistent' }, 'Persistent'), persistent),
        h('button', {
          type: 'button',
          onclick: () => run('Boot device', 'PUT', `/v1/machines/${id}/bootdev`,
            { device: bootdev.value, persistent: persistent.checked }),
        }, 'Set boot device'))),
    confirmBox, region);
}

// The serial console (GET /v1/machines/{id}/console, staff): follows new
// output with ?after=&wait= while the view is open; a 404 means no console
// is captured (or this provisiond has no console capture).
async function followConsole(id, pre, note, gen) {
  let after = 0;
  let first = true;
  while (current(gen)) {
    let c;
    try {
      // the first read answers at once; the next ones wait for new output
      c = await api('GET', `/v1/machines/${encodeURIComponent(id)}/console?after=${after}${first ? '' : '&wait=20'}`);
      first = false;
    } catch (e) {
      if (!current(gen)) return;
      if (e.status === 404) {
        note.textContent = 'No console is captured for this machine.';
        pre.hidden = true;
        return;
      }
      note.textContent = `The console cannot be read: ${errorText(e)}`;
      await sleep(5000);
      continue;
    }
    if (!current(gen)) return;
    if (c.truncated) pre.textContent += '\n[… earlier output dropped …]\n';
    pre.textContent += c.data || '';
    pre.hidden = !pre.textContent;
    pre.scrollTop = pre.scrollHeight;
    note.textContent = c.end ? `Serial console output, bytes ${c.start}-${c.end}; new output appears as it comes.`
      : 'No console output captured yet; new output appears as it comes.';
    if (c.end <= after && !c.data) await sleep(1000); // a server that did not wait
    after = Math.max(after, c.end || 0);
  }
}

async function buildMachine(params, gen) {
  const id = params[0];
  const [m, events] = await Promise.all([
    api('GET', `/v1/machines/${encodeURIComponent(id)}`), loadEvents(id)]);
  if (!current(gen)) return null;
  S.machines.set(m.id, { ...S.machines.get(m.id), ...m });
  const info = h('div', { id: 'm-info' }, machineInfo(m));
  const tl = h('div', { id: 'm-timeline' }, timeline(events));
  const region = h('div', { id: 'm-status' });
  const nodes = [h('h1', {}, `Machine ${m.name}`), info];
  const st = { m, region, actions: null };
  VIEWS.machine.st = st;
  if (isStaff()) {
    st.actions = h('div', { id: 'm-actions' }, machineActions(m, region, (again) => reloadMachine(gen, again)));
    nodes.push(st.actions);
  }
  nodes.push(h('section', { class: 'card', 'aria-labelledby': 'mt' }, h('h2', { id: 'mt' }, 'Event history'), tl));
  if (isStaff()) {
    const pre = h('pre', { class: 'console', tabindex: '0', 'aria-label': 'Serial console output', hidden: true });
    const note = h('p', { class: 'hint' }, 'Loading the console…');
    nodes.push(h('section', { class: 'card', 'aria-labelledby': 'mc' }, h('h2', { id: 'mc' }, 'Serial console'), note, pre));
    followConsole(m.id, pre, note, gen);
  }
  return nodes;
}

async function reloadMachine(gen, actionsToo) {
  const st = VIEWS.machine.st;
  if (!st || !current(gen)) return;
  try {
    const [m, events] = await Promise.all([
      api('GET', `/v1/machines/${encodeURIComponent(st.m.id)}`), loadEvents(st.m.id)]);
    if (!current(gen)) return;
    const changed = m.state !== st.m.state || m.maintenance !== st.m.maintenance;
    st.m = m;
    keepFocus(() => {
      $('#m-info').replaceChildren(...machineInfo(m).filter(Boolean));
      $('#m-timeline').replaceChildren(timeline(events));
      const reason = $('#maint-reason');
      if (st.actions && (actionsToo || (changed && !(reason && reason.value)))) {
        st.actions.replaceChildren(machineActions(m, st.region, (again) => reloadMachine(gen, again)));
      }
    });
  } catch (e) {
    if (e.status === 404) statusLine(st.region, 'This machine no longer exists.', false);
    else toast(errorText(e));
  }
}

VIEWS.machine = {
  roles: ['admin', 'tech', 'service'],
  build: buildMachine,
  refresh(all, kind, obj, gen) {
    const st = VIEWS.machine.st;
    if (all || (st && obj && obj.id === st.m.id)) reloadMachine(gen, false);
  },
};

// ------------------------------------------------------------------- enroll

const ENROLL_FIELDS = [
  // [API field, input id, label, type, hint]
  ['name', 'f-name', 'Name', 'text', 'e.g. r12-u07: letters, digits, . _ -'],
  ['location.site', 'f-site', 'Site', 'text', 'e.g. dc1'],
  ['location.rack', 'f-rack', 'Rack', 'text', 'e.g. r12'],
  ['location.unit', 'f-unit', 'Unit', 'text', '0-1000'],
  ['macs', 'f-mac', 'Boot MAC', 'text', 'aa:bb:cc:dd:ee:ff'],
  ['bmc.address', 'f-address', 'BMC address', 'text', 'host[:port]'],
  ['bmc.username', 'f-username', 'BMC user', 'text', ''],
  ['bmc.password', 'f-password', 'BMC password', 'password', 'never shown again'],
];

function fieldBlock([api, id, label, type, hint]) {
  return h('div', { class: 'field' },
    h('label', { for: id }, label),
    h('input', { id, name: api, type, autocomplete: 'off', 'aria-describedby': `${id}-hint ${id}-err` }),
    h('p', { class: 'hint', id: `${id}-hint` }, hint),
    h('p', { class: 'error', id: `${id}-err` }));
}

function enrollBody(get) {
  const body = { name: get('name') };
  const loc = {};
  if (get('site')) loc.site = get('site');
  if (get('rack')) loc.rack = get('rack');
  const unit = get('unit');
  if (unit) loc.unit = /^\d+$/.test(unit) ? Number(unit) : unit;
  if (Object.keys(loc).length) body.location = loc;
  if (get('mac')) body.macs = [get('mac')];
  const driver = get('driver');
  if (driver) {
    const bmc = { driver };
    for (const k of ['address', 'username', 'password']) if (get(k)) bmc[k] = get(k);
    if (driver === 'fake') {
      bmc.options = { sku: get('sku') };
      const delay = get('delay');
      if (delay) bmc.options.delay_ms = /^\d+$/.test(delay) ? Number(delay) : delay;
    }
    body.bmc = bmc;
  }
  return body;
}

// The input an API field error belongs to ("bmc.options.sku" -> the SKU).
function inputFor(field) {
  if (!field) return null;
  const map = Object.fromEntries(ENROLL_FIELDS.map((f) => [f[0], f[1]]));
  map['bmc.driver'] = 'f-driver';
  map['bmc.options.sku'] = 'f-sku';
  map['bmc.options.delay_ms'] = 'f-delay';
  map['bmc.options'] = 'f-sku';
  map.location = 'f-site';
  map.bmc = 'f-driver';
  return map[field] || map[field.replace(/\[\d+\]$/, '')] || null;
}

function clearErrors(form) {
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const el of form.querySelectorAll('.error')) el.textContent = '';
}

async function submitEnroll(form, result) {
  clearErrors(form);
  result.replaceChildren();
  const get = (k) => form.querySelector(`#f-${k}`).value.trim();
  try {
    const m = await api('POST', '/v1/machines', enrollBody(get));
    S.machines.set(m.id, m);
    result.replaceChildren(h('p', { class: 'alert ok', role: 'status' }, `Enrolled ${m.name} (${m.state}). `,
      machineLink(m.id, `Open ${m.name}`)));
    form.reset();
    form.querySelector('#f-driver').dispatchEvent(new Event('change'));
  } catch (e) {
    const id = e instanceof ApiError ? inputFor(e.field) : null;
    if (id) {
      const input = form.querySelector(`#${id}`);
      input.setAttribute('aria-invalid', 'true');
      form.querySelector(`#${id}-err`).textContent = e.message;
      input.focus();
    }
    result.replaceChildren(h('p', { class: 'alert', role: 'alert' }, `Not enrolled: ${errorText(e)}`));
  }
}

function enrollForm(skus) {
  const result = h('div', {});
  const driver = h('select', { id: 'f-driver', 'aria-describedby': 'f-driver-err' },
    h('option', { value: 'ipmi' }, 'ipmi'), h('option', { value: 'redfish' }, 'redfish'),
    h('option', { value: 'libvirt' }, 'libvirt'), h('option', { value: 'fake' }, 'fake (simulated)'),
    h('option', { value: '' }, 'none yet'));
  const fake = h('div', { class: 'row', id: 'fake-opts', hidden: true },
    h('div', { class: 'field' }, h('label', { for: 'f-sku' }, 'Simulated SKU'),
      h('select', { id: 'f-sku', 'aria-describedby': 'f-sku-err' }, skus.map((s) => h('option', { value: s }, s))),
      h('p', { class: 'error', id: 'f-sku-err' })),
    h('div', { class: 'field' }, h('label', { for: 'f-delay' }, 'Step delay (ms)'),
      h('input', { id: 'f-delay', type: 'text', value: '300', 'aria-describedby': 'f-delay-err' }),
      h('p', { class: 'error', id: 'f-delay-err' })));
  driver.addEventListener('change', () => { fake.hidden = driver.value !== 'fake'; });
  const [name, site, rack, unit, mac, addr, user, pass] = ENROLL_FIELDS.map(fieldBlock);
  const form = h('form', { id: 'enroll-form', novalidate: true, 'aria-labelledby': 'ef' },
    h('h2', { id: 'ef' }, 'One machine'),
    h('div', { class: 'row' }, name, mac),
    h('div', { class: 'row' }, site, rack, unit),
    h('div', { class: 'row' }, h('div', { class: 'field' }, h('label', { for: 'f-driver' }, 'BMC driver'), driver,
      h('p', { class: 'error', id: 'f-driver-err' })), addr, user, pass),
    fake,
    h('button', { type: 'submit', class: 'primary' }, 'Enroll'),
    result);
  form.addEventListener('submit', (ev) => { ev.preventDefault(); submitEnroll(form, result); });
  return form;
}

const CSV_COLUMNS = ['name', 'site', 'rack', 'unit', 'mac', 'bmc_driver', 'bmc_address', 'bmc_username',
  'bmc_password', 'sku'];

function parseCsvLine(line) {
  const out = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted && c === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) { out.push(cur.trim()); cur = ''; } else cur += c;
  }
  out.push(cur.trim());
  return out;
}

function csvColumn(field) {
  const map = {
    name: 'name', 'location.site': 'site', 'location.rack': 'rack', 'location.unit': 'unit', macs: 'mac',
    'bmc.driver': 'bmc_driver', 'bmc.address': 'bmc_address', 'bmc.username': 'bmc_username',
    'bmc.password': 'bmc_password', 'bmc.options.sku': 'sku',
  };
  return map[field] || field;
}

async function submitCsv(text, out) {
  const lines = text.split(/\r?\n/).map((l, i) => [i + 1, l]).filter(([, l]) => l.trim() && !l.startsWith('#'));
  if (lines.length && lines[0][1].toLowerCase().startsWith('name,')) lines.shift();
  const rows = [];
  const tbody = h('tbody', {});
  out.replaceChildren(h('div', { class: 'table-wrap' }, h('table', {},
    h('caption', { class: 'hint' }, 'Bulk enrollment, line by line'),
    h('thead', {}, h('tr', {}, ['Line', 'Name', 'Result'].map((c) => h('th', { scope: 'col' }, c)))), tbody)));
  let ok = 0;
  for (const [n, line] of lines) {
    const v = parseCsvLine(line);
    const rec = Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, v[i] || '']));
    const get = (k) => ({ driver: rec.bmc_driver, address: rec.bmc_address, username: rec.bmc_username,
      password: rec.bmc_password, delay: '' }[k] ?? rec[k] ?? '');
    let res;
    try {
      const m = await api('POST', '/v1/machines', enrollBody(get));
      S.machines.set(m.id, m);
      res = h('td', {}, 'enrolled: ', machineLink(m.id, m.name));
      ok++;
    } catch (e) {
      res = h('td', { class: 'error' }, e.field ? `column ${csvColumn(e.field)}: ${e.message}` : errorText(e));
    }
    const row = h('tr', {}, h('td', {}, n), h('td', {}, rec.name), res);
    rows.push(row);
    tbody.append(row);
  }
  out.append(h('p', { class: ok === lines.length ? 'alert ok' : 'alert', role: 'status' },
    `${ok} of ${lines.length} machines enrolled.`));
}

async function buildEnroll() {
  const skus = (await api('GET', '/v1/skus')).items.map((s) => s.name);
  const out = h('div', {});
  const ta = h('textarea', { id: 'csv', spellcheck: 'false', 'aria-describedby': 'csv-hint' });
  const bulk = h('form', { id: 'csv-form', novalidate: true, 'aria-labelledby': 'bf' },
    h('h2', { id: 'bf' }, 'A whole rack: paste CSV'),
    h('div', { class: 'field' }, h('label', { for: 'csv' }, 'CSV lines'), ta,
      h('p', { class: 'hint', id: 'csv-hint' }, `Columns: ${CSV_COLUMNS.join(', ')} `,
        '(sku only for the fake driver). A first line starting with "name," is skipped.')),
    h('button', { type: 'submit', class: 'primary' }, 'Enroll all'), out);
  bulk.addEventListener('submit', (ev) => { ev.preventDefault(); submitCsv(ta.value, out); });
  return [h('h1', {}, 'Enroll'),
    h('p', { class: 'hint' }, 'Errors from the API are shown next to the field they concern.'),
    h('section', { class: 'card' }, enrollForm(skus)),
    h('section', { class: 'card' }, bulk)];
}

VIEWS.enroll = { roles: STAFF, build: buildEnroll };

// -------------------------------------------------------------- allocations

async function release(a, region) {
  try {
    const r = await api('DELETE', `/v1/allocations/${encodeURIComponent(a.id)}`);
    S.allocs.set(r.id, r);
    region.textContent = `${a.name}: releasing.`;
    refresh(false);
  } catch (e) {
    region.textContent = `${a.name}: release failed: ${errorText(e)}`;
  }
}

async function buildAllocations() {
  const list = [...S.allocs.values()].sort((a, b) => (b.created_at || '').localeCompare(a.created_at || ''));
  const mayRelease = S.me.role === 'admin' || S.me.role === 'service';
  const region = h('p', { role: 'status', class: 'hint' });
  const nodes = [h('h1', {}, isStaff() ? 'Allocations' : `Allocations of ${S.me.owner}`), region];
  if (!list.length) return [...nodes, h('p', {}, 'No allocations.')];
  nodes.push(h('div', { class: 'table-wrap' }, h('table', {},
    h('caption', { class: 'hint' }, 'Newest first'),
    h('thead', {}, h('tr', {}, ['Name', 'Owner', 'SKU', 'Image', 'State', 'Progress', 'Machines', 'Created', '']
      .map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, list.map((a) => h('tr', {},
      h('th', { scope: 'row' }, a.name, a.last_error ? h('div', { class: 'error' }, a.last_error) : null),
      h('td', {}, a.owner), h('td', {}, a.sku), h('td', {}, a.image),
      h('td', {}, badge(a.state)),
      h('td', {}, progressOf(a)),
      h('td', {}, h('ul', {}, a.machines.map((m) => h('li', {}, machineLink(m.id, m.name), ' ', badge(m.state))))),
      h('td', {}, fmtTime(a.created_at)),
      h('td', {}, mayRelease && ['deploying', 'ready', 'failed'].includes(a.state)
        ? h('button', { type: 'button', 'data-key': `rel-${a.id}`, onclick: () => release(a, region) }, `Release ${a.name}`)
        : null)))))));
  return nodes;
}

VIEWS.allocations = { roles: ['admin', 'tech', 'service'], build: buildAllocations, live: true };

// -------------------------------------------------------------------- audit

function auditTable(items) {
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('caption', { class: 'hint' }, 'Newest first'),
    h('thead', {}, h('tr', {}, ['Time', 'Actor', 'Action', 'Target', 'Details'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', { id: 'audit-rows' }, items.map(auditRow))));
}

function auditRow(a) {
  const target = a.target_type === 'machine' && S.machines.has(a.target_id)
    ? machineLink(a.target_id, `machine ${machineName(a.target_id)}`) : `${a.target_type} ${a.target_id}`;
  const details = a.before || a.after
    ? h('details', {}, h('summary', {}, 'before / after'),
      h('pre', { class: 'mono' }, `before: ${JSON.stringify(a.before, null, 1)}\nafter: ${JSON.stringify(a.after, null, 1)}`))
    : '';
  return h('tr', {}, h('td', {}, fmtTime(a.at)), h('td', {}, a.actor), h('td', {}, a.action), h('td', {}, target),
    h('td', {}, details, h('div', { class: 'hint' }, `request ${a.request_id}`)));
}

function auditQuery(form, cursor) {
  const q = new URLSearchParams({ order: 'desc', limit: '100' });
  for (const k of ['actor', 'action', 'target', 'since']) {
    const v = form.querySelector(`#a-${k}`).value.trim();
    if (v) q.set(k, v);
  }
  if (cursor) q.set('cursor', cursor);
  return `/v1/audit?${q}`;
}

async function loadAudit(form, out, more) {
  form.querySelector('.error').textContent = '';
  try {
    const page = await api('GET', auditQuery(form, more ? out.dataset.cursor : null));
    out.dataset.paged = more ? '1' : ''; // paged back: live updates leave the list alone
    if (more) $('#audit-rows').append(...page.items.map(auditRow));
    else keepFocus(() => out.replaceChildren(page.items.length ? auditTable(page.items) : h('p', {}, 'No entries.')));
    out.dataset.cursor = page.next_cursor || '';
    $('#audit-more').hidden = !page.next_cursor;
  } catch (e) {
    form.querySelector('.error').textContent = errorText(e);
  }
}

async function buildAudit() {
  const out = h('div', { id: 'audit-out' });
  const filter = (k, label, hint) => h('div', { class: 'field' }, h('label', { for: `a-${k}` }, label),
    h('input', { id: `a-${k}`, type: 'text', 'aria-describedby': `a-${k}-hint` }),
    h('p', { class: 'hint', id: `a-${k}-hint` }, hint));
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter the audit log' },
    filter('actor', 'Actor', 'role:name or name'), filter('action', 'Action', 'machine or machine.action'),
    filter('target', 'Target id', 'a machine id…'), filter('since', 'Since', '2026-12-01T00:00:00Z'),
    h('button', { type: 'submit', class: 'primary' }, 'Filter'),
    h('p', { class: 'error', role: 'alert' }));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); loadAudit(form, out, false); });
  const more = h('button', { type: 'button', id: 'audit-more', hidden: true, onclick: () => loadAudit(form, out, true) },
    'Older entries');
  VIEWS.audit.st = { form, out };
  await loadAudit(form, out, false);
  return [h('h1', {}, 'Audit log'), h('section', { class: 'card' }, form), out, more];
}

VIEWS.audit = {
  roles: STAFF,
  build: buildAudit,
  refresh() {
    const st = VIEWS.audit.st;
    if (st && document.body.contains(st.out) && !st.out.dataset.paged) loadAudit(st.form, st.out, false);
  },
};

// --------------------------------------------------------------------- boot

function start() {
  $('#login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const token = $('#token').value.trim();
    if (!token) {
      $('#token-error').textContent = 'Paste a token first.';
      $('#token').setAttribute('aria-invalid', 'true');
      return;
    }
    try {
      await login(token);
    } catch (e) {
      $('#token-error').textContent = e.status === 401 ? 'This token is not valid.' : errorText(e);
      $('#token').setAttribute('aria-invalid', 'true');
    }
  });
  $('#logout').addEventListener('click', () => logout(''));
  window.addEventListener('hashchange', route);
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) {
    login(saved).catch(() => logout('The saved token was refused: log in again.'));
  } else {
    logout('', false);
  }
}

start();
