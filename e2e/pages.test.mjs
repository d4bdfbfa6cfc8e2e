// Every page: server-rendered (or pre-rendered) content before any script, hydration,
// charts drawn, no console error or failed request; a screenshot of each under
// e2e/artifacts/ (`<page>.png`, or `exported-<page>.png` for the static site).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, openPage, waitForCharts, count, cleanup, artifacts, sampleSite, exported } from './harness.mjs';

const PAGES = [
  ['', 'Overview'],
  ['growth', 'Growth'],
  ['retention', 'Retention'],
  ['interactions', 'Interactions'],
  ['explore', 'Explore'],
];

const site = sampleSite();

/** The last complete week's active users (all countries), as the Overview must show it. */
async function lastCompleteWeek() {
  const rows = await site.mart('user_growth_metrics_week');
  const periods = [...new Set(rows.filter((r) => r.is_complete).map((r) => r.period))].sort();
  const last = periods.at(-1);
  const active = rows.filter((r) => r.period === last).reduce((s, r) => s + r.active_users, 0);
  return { last, active };
}

test('server-rendered HTML holds each page title and the KPI numbers before any script', async () => {
  for (const [path, title] of PAGES) {
    const res = await fetch(site.page(path));
    assert.equal(res.status, 200, path);
    const html = await res.text();
    assert.match(html, new RegExp(`<title>${title} · heymax</title>`), `${path}: <title>`);
    assert.match(html, new RegExp(`<h1>${title}</h1>`), `${path}: <h1>`);
  }
  const { last, active } = await lastCompleteWeek();
  const html = await (await fetch(site.url)).text();
  assert.ok(html.includes(`Last complete week: ${last}.`), 'the period the KPIs are for');
  assert.match(html, new RegExp(`data-kpi="Active users"[^>]*>${count(active)}<`), 'active users KPI');
  // The growth table is in the HTML too (readable without JavaScript).
  const growth = await (await fetch(site.page('growth'))).text();
  assert.ok(growth.includes(`<td>${last}</td>`), 'growth table rows are server-rendered');
});

for (const [path, title] of PAGES) {
  test(`${title} renders, hydrates and draws its charts with no console error`, async () => {
    const { page, problems, close } = await site.open();
    try {
      await page.goto(site.page(path));
      await waitForCharts(page);
      assert.equal(await page.locator('h1').textContent(), title);
      assert.equal(await page.getAttribute('html', 'data-heymax'), 'hydrated', 'the HTML is hydrated, not rendered again');
      await page.screenshot({ path: join(artifacts, `${exported ? 'exported-' : ''}${path || 'overview'}.png`), fullPage: true });
      assert.deepEqual(problems, []);
    } finally {
      await close();
    }
  });
}

test('navigating between pages happens in place, without a reload', async () => {
  const { page, problems, close } = await site.open();
  try {
    await page.goto(site.url);
    await waitForCharts(page);
    await page.evaluate(() => { window.__stillHere = true; });
    await page.getByRole('link', { name: 'Retention' }).click();
    await page.waitForURL(/\/retention\/$/);
    await waitForCharts(page);
    assert.equal(await page.locator('h1').textContent(), 'Retention');
    assert.equal(await page.evaluate(() => window.__stillHere), true);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('an empty warehouse says what to run, in the HTML and in the browser', { skip: exported && 'heymax serve only (export refuses an empty warehouse)' }, async () => {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const emptyDir = mkdtempSync(join(tmpdir(), 'heymax-empty-'));
  const empty = await startServer(join(emptyDir, 'none'));
  try {
    const html = await (await fetch(empty.url + 'growth')).text();
    assert.match(html, /No data yet/);
    assert.match(html, /heymax run --input/);
    const res = await fetch(`${empty.url}data/marts/user_retention.json`);
    assert.equal(res.status, 404);
    const { page, problems, close } = await openPage(site.browser, { origin: new URL(empty.url).origin });
    await page.goto(empty.url + 'explore');
    await page.getByRole('alert').first().waitFor();
    assert.match(await page.getByRole('alert').first().textContent(), /heymax run/);
    assert.deepEqual(problems, []);
    await close();
  } finally {
    empty.stop();
    cleanup(emptyDir);
  }
});

test('a static host\'s 404.html renders the not-found page for any missing path, and its links work', { skip: !exported && 'static site only' }, async () => {
  // GitHub Pages answers a missing path with 404.html and status 404; Python's server does
  // not, so the browser is given that answer for one path.
  const notFound = await (await fetch(`${site.url}404.html`)).text();
  const { page, problems, close } = await site.open();
  try {
    const missing = `${site.url}no/such/page/`;
    await page.route(missing, (route) => route.fulfill({ status: 404, contentType: 'text/html', body: notFound }));
    await page.goto(missing);
    await page.getByRole('heading', { name: 'Page not found' }).waitFor();
    await page.getByRole('link', { name: 'Growth' }).click();
    await page.waitForURL(/\/heymax\/growth\/$/);
    await waitForCharts(page);
    assert.equal(await page.locator('h1').textContent(), 'Growth');
    // The only problem is the 404 itself (Chromium also logs it to the console).
    assert.deepEqual(problems.filter((p) => !p.includes('404')), []);
    assert.ok(problems.includes(`HTTP 404: ${missing}`));
  } finally {
    await close();
  }
});
