// Every page: server-rendered content before any script, hydration, charts drawn, no
// console error or failed request; a screenshot of each under e2e/artifacts/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, openPage, waitForCharts, count, cleanup, artifacts, sampleSite } from './harness.mjs';

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
    const res = await fetch(site.url + path);
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
  const growth = await (await fetch(site.url + 'growth')).text();
  assert.ok(growth.includes(`<td>${last}</td>`), 'growth table rows are server-rendered');
});

for (const [path, title] of PAGES) {
  test(`${title} renders, hydrates and draws its charts with no console error`, async () => {
    const { page, problems, close } = await site.open();
    try {
      await page.goto(site.url + path);
      await waitForCharts(page);
      assert.equal(await page.locator('h1').textContent(), title);
      await page.screenshot({ path: join(artifacts, `${path || 'overview'}.png`), fullPage: true });
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
    await page.waitForURL(/retention$/);
    await waitForCharts(page);
    assert.equal(await page.locator('h1').textContent(), 'Retention');
    assert.equal(await page.evaluate(() => window.__stillHere), true);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('an empty warehouse says what to run, in the HTML and in the browser', async () => {
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
