// Drives Debian's Chromium (headless) through every view of the dashboard and through
// GraphiQL, against a running hub, and prints what it saw as one JSON report on stdout:
// every request the pages made, console errors, the values each view shows, the files the
// export buttons downloaded and the time to the first interactive view. The assertions are
// in crates/cli/tests/browser.rs, which compares the report with the hub's own API.
//
//   node drive.mjs <hub base URL> <token> <output directory> [<a city staff token>]
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const [base, token, out, cityToken] = process.argv.slice(2);
if (!base || !token || !out) {
  console.error('usage: node drive.mjs <base> <token> <out dir>');
  process.exit(2);
}
mkdirSync(out, { recursive: true });

const report = { requests: [], consoleErrors: [], views: {}, downloads: {}, timings: {} };
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1360, height: 900 } });
  const page = await context.newPage();
  page.on('request', (r) => report.requests.push(r.url()));
  page.on('requestfailed', (r) => report.consoleErrors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('console', (m) => { if (m.type() === 'error') report.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => report.consoleErrors.push(`page error: ${e.message}`));

  const ready = async (view) => {
    await page.waitForSelector(`body[data-state="ready"][data-view="${view}"]`, { timeout: 30000 });
  };
  const shot = async (name) => {
    const path = join(out, `${name}.png`);
    await page.screenshot({ path, fullPage: false });
    return path;
  };

  // Overview, opened the way `xingyi local`'s link opens it.
  const started = Date.now();
  await page.goto(`${base}/dashboard#token=${token}`);
  await ready('overview');
  await page.waitForFunction(() => document.querySelectorAll('#units-chart canvas').length > 0);
  report.timings.firstViewMs = Date.now() - started;
  report.timings.navigation = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0];
    return n ? { domContentLoadedMs: n.domContentLoadedEventEnd, loadMs: n.loadEventEnd } : null;
  });
  report.views.overview = await page.evaluate(() => ({
    url: location.href,
    title: document.querySelector('h1')?.textContent,
    cities: [...document.querySelectorAll('#city-cards [data-city]')].map((c) => ({
      code: c.getAttribute('data-city'),
      name: c.querySelector('h3 a')?.textContent,
      units: c.querySelector('[data-units]')?.textContent,
      badges: [...c.querySelectorAll('.badge')].map((b) => b.textContent),
    })),
    targets: document.querySelectorAll('#p136-targets tbody tr').length,
    goals: [...document.querySelectorAll('#p136-goals tbody tr')].map((r) => ({
      key: r.getAttribute('data-goal'),
      period: r.children[1]?.textContent,
      named: r.querySelector('[data-named]')?.textContent,
      reported: r.children[4]?.textContent,
    })),
    canvases: document.querySelectorAll('#units-chart canvas').length,
    tokenInAddress: location.href.includes('token='),
  }));
  report.views.overview.screenshot = await shot('dashboard-overview');

  // Compare: the default question, its charts and table, then both exports.
  await page.goto(`${base}/dashboard#/compare`);
  await ready('compare');
  await page.waitForSelector('#cmp-table');
  await page.waitForFunction(() => [...document.querySelectorAll('.chart[data-indicator]')].every((c) => c.querySelector('canvas')));
  report.views.compare = await page.evaluate(() => ({
    charts: [...document.querySelectorAll('.chart[data-indicator]')].map((c) => ({
      indicator: c.getAttribute('data-indicator'), canvases: c.querySelectorAll('canvas').length })),
    rows: [...document.querySelectorAll('#cmp-table tbody tr')].map((r) => {
      const cells = r.querySelectorAll('td');
      return {
        row: r.getAttribute('data-row'),
        target: cells[3].getAttribute('data-target'),
        targetText: cells[3].textContent,
        ambiguous: cells[3].classList.contains('ambiguous'),
        caveat: cells[3].getAttribute('title'),
        actual: cells[4].getAttribute('data-actual'),
      };
    }),
    spans: [...document.querySelectorAll('#cmp-spans tbody tr')].map((r) => ({
      row: r.getAttribute('data-row'), target: r.querySelectorAll('td')[3].getAttribute('data-target') })),
    selected: [...document.querySelectorAll('#cmp-indicators option')].filter((o) => o.selected).map((o) => o.value),
    from: Number(document.querySelector('#cmp-from').value),
    to: Number(document.querySelector('#cmp-to').value),
  }));
  report.views.compare.screenshot = await shot('dashboard-compare');
  for (const [button, file] of [['#cmp-xlsx', 'compare.xlsx'], ['#cmp-csv', 'compare.csv']]) {
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30000 }), page.click(button)]);
    const path = join(out, file);
    await download.saveAs(path);
    report.downloads[file] = { path, suggested: download.suggestedFilename() };
  }

  // A city.
  await page.goto(`${base}/dashboard#/city/140800`);
  await ready('city-140800');
  report.views.city = await page.evaluate(() => ({
    title: document.querySelector('h1')?.textContent,
    units: [...document.querySelectorAll('[data-unit]')].map((u) => ({ id: u.getAttribute('data-unit'), name: u.querySelector('strong')?.textContent })),
    audit: document.querySelectorAll('#audit tbody tr').length,
    planYears: document.querySelectorAll('[data-unit] details').length,
  }));
  report.views.city.screenshot = await shot('dashboard-city');

  // Sync and health.
  await page.goto(`${base}/dashboard#/sync`);
  await ready('sync');
  await page.waitForFunction(() => document.querySelectorAll('#lag-chart canvas').length > 0);
  report.views.sync = await page.evaluate(() => ({
    rows: [...document.querySelectorAll('#sync tbody tr')].map((r) => ({
      city: r.getAttribute('data-city'),
      lag: r.querySelector('[data-lag]')?.textContent,
      badges: [...r.querySelectorAll('.badge')].map((b) => b.textContent),
      samples: Number(r.getAttribute('data-samples')),
    })),
    canvases: document.querySelectorAll('#lag-chart canvas').length,
    stateCanvases: document.querySelectorAll('#state-chart canvas').length,
  }));
  report.views.sync.screenshot = await shot('dashboard-sync');

  // English.
  await page.click('#lang');
  await ready('sync');
  report.views.english = await page.evaluate(() => ({
    nav: [...document.querySelectorAll('#nav a[data-t]')].map((a) => a.textContent),
    lang: document.documentElement.lang,
  }));
  await page.click('#lang');
  await ready('sync');

  // GraphiQL, with the token from a link, running its default query.
  await page.goto(`${base}/graphiql#token=${token}`);
  await page.waitForSelector('.graphiql-container', { timeout: 30000 });
  await page.click('.graphiql-execute-button');
  await page.waitForFunction(() => (document.querySelector('.result-window')?.textContent || '').includes('运城市'), null, { timeout: 30000 });
  report.views.graphiql = await page.evaluate(() => ({
    result: document.querySelector('.result-window')?.textContent,
  }));
  report.views.graphiql.screenshot = await shot('graphiql');

  // A browser opening the endpoint itself gets GraphiQL too.
  await page.goto(`${base}/graphql`);
  await page.waitForSelector('.graphiql-container', { timeout: 30000 });
  report.views.endpoint = { graphiql: true };

  // A city's staff: their city's card is whole, another city's says it is not theirs to see.
  if (cityToken) {
    const staff = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    const p2 = await staff.newPage();
    p2.on('request', (r) => report.requests.push(r.url()));
    p2.on('console', (m) => { if (m.type() === 'error') report.consoleErrors.push(`staff: ${m.text()}`); });
    p2.on('pageerror', (e) => report.consoleErrors.push(`staff page error: ${e.message}`));
    await p2.goto(`${base}/dashboard#token=${cityToken}`);
    await p2.waitForSelector('body[data-state="ready"][data-view="overview"]', { timeout: 30000 });
    report.views.staff = await p2.evaluate(() => ({
      cities: [...document.querySelectorAll('#city-cards [data-city]')].map((c) => ({
        code: c.getAttribute('data-city'),
        units: c.querySelector('[data-units]')?.textContent,
        error: c.querySelector('[data-error]')?.textContent || null,
      })),
      goalsShown: !!document.querySelector('#p136-goals'),
    }));
    await staff.close();
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(report));
