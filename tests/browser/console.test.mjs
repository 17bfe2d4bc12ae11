// The web console (/ui/) end to end: Debian's Chromium driven by
// playwright-core (no browser download), against the real provisiond on
// fake hardware. Screenshots of every view go to $BROWSER_ARTIFACTS
// (ctest: build/browser-artifacts/); axe-core checks every view.
//
//   PROVISIOND_BIN=build/provisiond/provisiond node --test console.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { Daemon } from './daemon.mjs';

const require = createRequire(import.meta.url);
const BIN = process.env.PROVISIOND_BIN;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ART = resolve(process.env.BROWSER_ARTIFACTS || 'browser-artifacts');
mkdirSync(ART, { recursive: true });

let d; let browser; let staff; let tech; let svc; let other;
const serious = [];

// DOCS_SHOTS=DIR also writes the top of each view, for docs/web.md
// (docs/web/*.png: DOCS_SHOTS=$PWD/docs/web ctest -L browser).
const DOCS = process.env.DOCS_SHOTS;

async function shot(page, name, fullPage = true) {
  await page.screenshot({ path: join(ART, `${name}.png`), fullPage });
  if (DOCS) {
    const size = page.viewportSize();
    await page.setViewportSize({ width: Math.min(size.width, 1100), height: 760 });
    await page.screenshot({ path: join(DOCS, `${name}.png`) });
    await page.setViewportSize(size);
  }
}

// axe-core on the page as it is now: no serious or critical violation.
async function axe(page, name) {
  await page.addScriptTag({ path: require.resolve('axe-core') });
  const res = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
  }));
  const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  for (const v of bad) serious.push(`${name}: ${v.id} (${v.impact}) ${v.help} at ${v.nodes.map((n) => n.target).join(' ')}`);
  return bad;
}

// bypassCSP: the console's policy refuses inline scripts, and axe-core is
// injected as one. The keyboard test runs under the real policy (strict),
// and any violation of it is a failure.
async function newPage(viewport = { width: 1280, height: 860 }, strict = false) {
  const ctx = await browser.newContext({ viewport, bypassCSP: !strict });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => serious.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) serious.push(`CSP: ${m.text()}`);
  });
  return page;
}

async function login(page, token) {
  await page.goto(`${d.url}/ui/`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#live', { hasText: 'Live' }).waitFor();
}

before(async () => {
  assert.ok(BIN, 'PROVISIOND_BIN names the provisiond binary');
  d = new Daemon(BIN);
  await d.start();
  tech = await d.token('tech');
  svc = await d.token('service', 'search');
  other = await d.token('service', 'other');
  // a rack r12 with machines in units 1-4, one machine whose BMC is dead
  for (let u = 1; u <= 4; u++) await d.enroll(`r12-u0${u}`, u);
  await d.enroll('r12-u10', 10, { unreachable: true });
  await d.enroll('r14-u02', 2, {}, 'r14');
  await d.waitFor('the pool', async () => (await d.machineState('r12-u04')) === 'available'
    && (await d.machineState('r14-u02')) === 'available');
  await d.waitFor('the dead BMC to fail', async () => (await d.machineState('r12-u10')) === 'failed');
  await d.image('lab-image');
  await d.ok(svc, 'POST', '/v1/allocations', { sku: 'lab.small', count: 1, image: 'lab-image', name: 'search-web' });
  await d.ok(other, 'POST', '/v1/allocations', { sku: 'lab.small', count: 1, image: 'lab-image', name: 'other-db' });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
});

after(async () => {
  if (browser) await browser.close();
  if (d) {
    const rc = await d.stop();
    d.cleanup();
    assert.equal(rc, 0, 'provisiond drains cleanly with streams open');
  }
});

test('login refuses a bad token and keeps the token out of the URL', async () => {
  const page = await newPage();
  await page.goto(`${d.url}/ui/`);
  await shot(page, 'login', false);
  assert.deepEqual(await axe(page, 'login'), []);
  await page.getByLabel('API token').fill('pvd_not-a-token');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#token-error', { hasText: 'not valid' }).waitFor();
  await page.getByLabel('API token').fill(tech);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Fleet', level: 1 }).waitFor();
  assert.ok(!page.url().includes(tech), 'the token is not in the URL');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('provisiond.token')), tech);
  await page.context().close();
});

test('staff: fleet, racks, enroll with a field error, live states, maintenance, audit', async () => {
  const page = await newPage();
  await login(page, tech);

  // Fleet: capacity, the failing machine with its last_error, its open breaker, freeze
  await page.getByRole('heading', { name: 'Fleet', level: 1 }).waitFor();
  const failing = page.locator('section', { has: page.getByRole('heading', { name: 'Failing machines' }) });
  await failing.getByRole('link', { name: 'r12-u10' }).waitFor();
  assert.match(await failing.locator('.last-error').first().innerText(), /\S/);
  await page.locator('section', { has: page.getByRole('heading', { name: /circuit breaker/ }) })
    .getByRole('link', { name: 'r12-u10' }).waitFor();
  await page.getByText('Not frozen').waitFor();
  await page.getByRole('cell', { name: 'lab.small' }).or(page.getByRole('rowheader', { name: 'lab.small' })).first().waitFor();
  await shot(page, 'fleet');
  assert.deepEqual(await axe(page, 'fleet'), []);

  // Racks: units drawn, machines labelled with their state, empty units visible
  await page.getByRole('link', { name: 'Racks' }).click();
  const r12 = page.getByRole('region', { name: /Rack r12/ });
  await r12.getByRole('link', { name: /^U1: r12-u01 (available|active|deploying)$/ }).waitFor();
  await r12.getByText('U7 empty').waitFor();
  await shot(page, 'racks');
  assert.deepEqual(await axe(page, 'racks'), []);

  // Enroll: a bad MAC is refused by the API, and the error sits next to the field
  await page.getByRole('link', { name: 'Enroll' }).click();
  await page.getByLabel('Name', { exact: true }).fill('r12-u07');
  await page.getByLabel('Site', { exact: true }).fill('dc1');
  await page.getByLabel('Rack', { exact: true }).fill('r12');
  await page.getByLabel('Unit', { exact: true }).fill('7');
  await page.getByLabel('Boot MAC').fill('52:54:00:zz:00:07');
  await page.getByLabel('BMC driver').selectOption('fake');
  await page.getByLabel('Simulated SKU').selectOption('lab.small');
  await page.getByLabel('Step delay (ms)').fill('200');
  await page.getByRole('button', { name: 'Enroll', exact: true }).click();
  await page.locator('#f-mac-err').filter({ hasText: /\S/ }).waitFor();
  assert.equal(await page.getByLabel('Boot MAC').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'f-mac');
  await shot(page, 'enroll-error');
  assert.deepEqual(await axe(page, 'enroll'), []);
  await page.getByLabel('Boot MAC').fill('52:54:00:12:00:07');
  await page.evaluate(() => { window.noReload = true; });
  await page.getByRole('button', { name: 'Enroll', exact: true }).click();
  await page.getByRole('status').filter({ hasText: 'Enrolled r12-u07' }).waitFor();

  // ... and it moves through the lifecycle live in the rack, without a reload
  await page.getByRole('link', { name: 'Racks' }).click();
  const slot = r12.locator('a.slot', { hasText: 'r12-u07' });
  await slot.waitFor();
  await page.evaluate(() => {
    window.seen = [];
    const note = () => {
      const s = [...document.querySelectorAll('a.slot')].find((a) => a.textContent.includes('r12-u07'));
      const st = s && s.querySelector('.state').textContent;
      if (st && window.seen[window.seen.length - 1] !== st) window.seen.push(st);
    };
    note();
    new MutationObserver(note).observe(document.getElementById('view'), { childList: true, subtree: true, characterData: true });
  });
  await r12.locator('a.slot', { hasText: 'r12-u07' }).filter({ hasText: 'available' }).waitFor({ timeout: 30000 });
  const seen = await page.evaluate(() => window.seen);
  assert.ok(await page.evaluate(() => window.noReload), 'the page was not reloaded');
  assert.ok(seen.length >= 3, `states seen live: ${seen.join(' -> ')}`);
  assert.equal(seen[seen.length - 1], 'available');
  for (const st of ['inspecting', 'cleaning']) assert.ok(seen.includes(st), `saw ${st} in ${seen.join(' -> ')}`);

  // Machine: put it in maintenance with a reason; the state changes live
  await r12.locator('a.slot', { hasText: 'r12-u07' }).click();
  await page.getByRole('heading', { name: 'Machine r12-u07', level: 1 }).waitFor();
  // a fake BMC's console is silent: captured but empty, or never captured
  await page.getByText(/^No console (is captured for this machine|output captured yet)/).waitFor();
  await page.getByLabel('Reason', { exact: true }).fill('PDU swap in r12');
  await page.getByRole('button', { name: 'Put in maintenance' }).click();
  await page.locator('#m-state', { hasText: 'maintenance' }).waitFor();
  await page.getByText('yes: PDU swap in r12').waitFor();
  await page.getByRole('button', { name: 'End maintenance' }).waitFor();
  await page.locator('#m-timeline li', { hasText: 'PDU swap in r12' }).first().waitFor();
  await shot(page, 'machine');
  assert.deepEqual(await axe(page, 'machine'), []);

  // Audit: the maintenance is the newest entry
  await page.getByRole('link', { name: 'Audit' }).click();
  const first = page.locator('#audit-rows tr').first();
  await first.waitFor();
  assert.match(await first.innerText(), /machine\.action/);
  assert.match(await first.innerText(), /tech:tech-console/);
  assert.match(await first.innerText(), /r12-u07/);
  await page.getByLabel('Action', { exact: true }).fill('machine.enroll');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('#audit-rows tr')];
    return rows.length && rows.every((r) => r.textContent.includes('machine.enroll'))
      && rows.some((r) => r.textContent.includes('r12-u07'));
  });
  await page.getByLabel('Action', { exact: true }).fill('');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.locator('#audit-rows tr', { hasText: 'machine.action' }).first().waitFor();
  await shot(page, 'audit');
  assert.deepEqual(await axe(page, 'audit'), []);

  // The failing machine: its last_error is prominent, repair is offered
  await page.goto(`${d.url}/ui/#/machine/r12-u10`);
  await page.getByRole('heading', { name: 'Machine r12-u10', level: 1 }).waitFor();
  assert.match(await page.locator('.last-error').innerText(), /Last error: \S/);
  await page.getByRole('button', { name: 'Repair' }).waitFor();
  await shot(page, 'machine-failed');

  // Allocations: staff see every owner's
  await page.getByRole('link', { name: 'Allocations' }).click();
  await page.getByRole('rowheader', { name: /search-web/ }).waitFor();
  await page.getByRole('rowheader', { name: /other-db/ }).waitFor();
  await shot(page, 'allocations');
  assert.deepEqual(await axe(page, 'allocations'), []);
  await page.context().close();
});

test('bulk CSV enrollment reports each line, naming the column at fault', async () => {
  const page = await newPage();
  await login(page, tech);
  await page.goto(`${d.url}/ui/#/enroll`);
  await page.getByLabel('CSV lines').fill([
    'name,site,rack,unit,mac,bmc_driver,bmc_address,bmc_username,bmc_password,sku',
    'r14-u05,dc1,r14,5,52:54:00:14:00:05,fake,,,,lab.small',
    'r14-u06,dc1,r14,6,52:54:00:14:00:06,fake,,,,no.such.sku',
    'r14 u07,dc1,r14,7,52:54:00:14:00:07,fake,,,,lab.small'].join('\n'));
  await page.getByRole('button', { name: 'Enroll all' }).click();
  await page.getByText('1 of 3 machines enrolled.').waitFor();
  const rows = page.locator('#csv-form tbody tr');
  assert.match(await rows.nth(0).innerText(), /enrolled/);
  assert.match(await rows.nth(1).innerText(), /column sku/);
  assert.match(await rows.nth(2).innerText(), /column name/);
  await shot(page, 'enroll-csv');
  await page.context().close();
});

test('freeze shown live, power refused while frozen, retire and delete after confirming', async () => {
  const page = await newPage();
  await login(page, tech);
  await page.goto(`${d.url}/ui/#/fleet`);
  await page.getByText('Not frozen').waitFor();
  await d.ok(d.admin, 'PUT', '/v1/freeze', { frozen: true, reason: 'PDU swap in r14' });
  await page.getByText(/FROZEN by admin:initial-admin: PDU swap in r14/).waitFor();
  await shot(page, 'fleet-frozen', false);
  await page.goto(`${d.url}/ui/#/machine/r14-u05`);
  await page.getByRole('heading', { name: 'Machine r14-u05', level: 1 }).waitFor();
  await page.getByRole('button', { name: 'Power off', exact: true }).click();
  await page.getByRole('alert').filter({ hasText: /Power off failed: the fleet is frozen by admin:initial-admin/ }).waitFor();
  await d.ok(d.admin, 'PUT', '/v1/freeze', { frozen: false });
  await page.getByRole('button', { name: 'Power off', exact: true }).click();
  await page.getByText('Power off: done.').waitFor();
  await page.getByRole('button', { name: 'Retire…' }).click();
  const confirm = page.getByRole('group', { name: 'Confirm Retire r14-u05' });
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Retire r14-u05', 'focus on the confirmation');
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  assert.equal(await confirm.count(), 0);
  assert.notEqual(await d.machineState('r14-u05'), 'retired', 'cancel retires nothing');
  await page.getByRole('button', { name: 'Retire…' }).click();
  await page.getByRole('button', { name: 'Retire r14-u05' }).click();
  await page.locator('#m-state', { hasText: 'retired' }).waitFor();
  await page.getByRole('button', { name: 'Delete…' }).click();
  await page.getByRole('button', { name: 'Delete r14-u05' }).click();
  await page.getByRole('heading', { name: 'Racks', level: 1 }).waitFor();
  assert.equal((await d.call(d.admin, 'GET', '/v1/machines/r14-u05')).status, 404);
  await page.context().close();
});

test('a service sees only its own allocations and no staff buttons', async () => {
  const page = await newPage();
  await login(page, svc);
  await page.getByRole('heading', { name: 'Allocations of search', level: 1 }).waitFor();
  await page.getByRole('rowheader', { name: /search-web/ }).waitFor();
  assert.equal(await page.getByRole('rowheader', { name: /other-db/ }).count(), 0);
  for (const staffOnly of ['Racks', 'Enroll', 'Audit']) {
    assert.equal(await page.getByRole('link', { name: staffOnly }).isVisible(), false, `${staffOnly} hidden`);
  }
  await shot(page, 'allocations-service');
  assert.deepEqual(await axe(page, 'allocations-service'), []);
  // its machine: shown without BMC details and without any action
  await page.locator('tbody a').first().click();
  await page.getByRole('heading', { name: /^Machine / }).waitFor();
  assert.equal(await page.getByRole('button', { name: /maintenance|Retire|Power|Delete|Repair/ }).count(), 0);
  assert.equal(await page.getByText('BMC address').count(), 0);
  await shot(page, 'machine-service');
  // a staff view asked for by URL falls back to its allocations
  await page.goto(`${d.url}/ui/#/racks`);
  await page.getByRole('heading', { name: 'Allocations of search', level: 1 }).waitFor();
  await page.context().close();
});

test('tablet width: no sideways scrolling', async () => {
  const page = await newPage({ width: 768, height: 1024 });
  await login(page, tech);
  await page.goto(`${d.url}/ui/#/racks`);
  await page.getByRole('heading', { name: 'Racks', level: 1 }).waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no sideways scrolling at 768 px (${overflow} px too wide)`);
  await shot(page, 'racks-tablet', false);
  assert.deepEqual(await axe(page, 'racks-tablet'), []);
  // every other view fits too (wide tables scroll inside their box)
  for (const [hash, title] of [['#/fleet', 'Fleet'], ['#/enroll', 'Enroll'], ['#/allocations', 'Allocations'],
    ['#/audit', 'Audit log'], ['#/machine/r12-u10', 'Machine r12-u10']]) {
    await page.goto(`${d.url}/ui/${hash}`);
    await page.getByRole('heading', { name: title, level: 1 }).waitFor();
    const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(over <= 0, `${title}: no sideways scrolling at 768 px (${over} px too wide)`);
  }
  await shot(page, 'machine-tablet', false);
  await page.context().close();
});

test('keyboard only (under the real Content-Security-Policy): skip link, log in, views, machines', async () => {
  const page = await newPage({ width: 768, height: 1024 }, true);
  await page.goto(`${d.url}/ui/`);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'token');
  await page.keyboard.type(tech);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Fleet', level: 1 }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.tagName), 'H1', 'focus moves to the view');
  let found = false;
  for (let i = 0; i < 10 && !found; i++) {
    await page.keyboard.press('Shift+Tab');
    found = await page.evaluate(() => document.activeElement.textContent === 'Racks');
  }
  assert.ok(found, 'the Racks view is reachable with the keyboard');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Racks', level: 1 }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.tagName), 'H1');
  for (let i = 0; i < 10 && !(await page.evaluate(() => document.activeElement.classList.contains('slot'))); i++) {
    await page.keyboard.press('Tab');
  }
  const name = await page.evaluate(() => document.activeElement.querySelector('.name').firstChild.textContent);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: `Machine ${name}`, level: 1 }).waitFor();
  await page.context().close();
});

test('the page reconnects after a daemon restart and stays live', async () => {
  const page = await newPage();
  await login(page, tech);
  await page.goto(`${d.url}/ui/#/racks`);
  await page.getByRole('heading', { name: 'Racks', level: 1 }).waitFor();
  await page.evaluate(() => { window.noReload = true; });
  assert.equal(await d.stop(), 0);
  await page.locator('#live', { hasText: 'Reconnecting' }).waitFor();
  await d.start();
  await page.locator('#live', { hasText: 'Live' }).waitFor({ timeout: 20000 });
  // a change after the restart shows without a reload
  await d.enroll('r12-u09', 9);
  await page.getByRole('region', { name: /Rack r12/ }).locator('a.slot', { hasText: 'r12-u09' }).waitFor();
  assert.ok(await page.evaluate(() => window.noReload));
  await page.context().close();
});

test('no serious accessibility violation or page error anywhere', () => {
  assert.deepEqual(serious, []);
});
