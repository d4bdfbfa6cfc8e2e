// Explore: the ready-made cross-mart chart shows, for a known day, the new users (growth
// mart) and the D7 rate of that day's cohort recomputed from counts (retention mart); its
// state survives a reload through the URL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitForCharts, hoverAt, brush, count, sampleSite, exported } from './harness.mjs';

const site = sampleSite();

test('new users per day with the D7 retention of that cohort, pooled over countries', async () => {
  const growth = await site.mart('user_growth_metrics_day');
  const retention = await site.mart('user_retention');
  // A day whose cohort spans several countries and has reached day 7.
  const day = retention.find((r) => r.d7_retained !== null
    && retention.filter((o) => o.cohort_date === r.cohort_date).length > 2).cohort_date;
  const newUsers = growth.filter((r) => r.period === day).reduce((s, r) => s + r.new_users, 0);
  const cohort = retention.filter((r) => r.cohort_date === day);
  const rate = (100 * cohort.reduce((s, r) => s + r.d7_retained, 0)) / cohort.reduce((s, r) => s + r.cohort_size, 0);

  const { page, problems, close } = await site.open();
  try {
    await page.goto(site.page('explore'));
    await waitForCharts(page);
    const tip = await hoverAt(page, 'explore-chart', day);
    assert.equal(tip.title, day);
    assert.deepEqual(tip.items, [`New users: ${count(newUsers)}`, `D7 retention rate: ${rate.toFixed(1)}%`]);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('the chart lives in the URL: edits update it, a reload or a direct visit restores it', async () => {
  const { page, problems, close } = await site.open();
  try {
    await page.goto(site.page('explore'));
    await waitForCharts(page);
    await page.getByRole('button', { name: 'Add series' }).click();
    await page.waitForFunction(() => document.getElementById('explore-chart').data.length === 3);
    await page.getByRole('button', { name: 'week', exact: true }).click();
    await page.waitForURL(/grain=week/);
    const url = page.url();
    assert.match(decodeURIComponent(url), /series=growth\.new_users:sum:bar:left,retention\.d7_rate:pooled:line:right,growth\.active_users:sum:line:right/);
    await page.reload();
    // A reload of a pre-rendered file renders afresh: wait for the chart itself, not only
    // for whatever charts exist yet.
    await page.waitForFunction(() => document.getElementById('explore-chart')?._fullLayout);
    await waitForCharts(page);
    const names = await page.evaluate(() => document.getElementById('explore-chart').data.map((t) => t.name));
    assert.deepEqual(names, ['New users', 'D7 retention rate', 'Active users']);
    const direct = await site.open();
    await direct.page.goto(url);
    await direct.page.waitForFunction(() => document.getElementById('explore-chart')?._fullLayout);
    await waitForCharts(direct.page);
    assert.equal(await direct.page.evaluate(() => document.getElementById('explore-chart').data.length), 3);
    // A static file was rendered without the query, so the browser renders it afresh.
    assert.equal(await direct.page.getAttribute('html', 'data-heymax'), exported ? 'rendered' : 'hydrated');
    assert.deepEqual(direct.problems, []);
    await direct.close();
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('brushing the chart keeps only those periods; the chip brings the rest back', async () => {
  const { page, problems, close } = await site.open();
  try {
    await page.goto(site.page('explore'));
    await waitForCharts(page);
    const xs = () => page.evaluate(() => document.getElementById('explore-chart').data[0].x);
    const all = await xs();
    const [from, to] = [all[10], all[20]];
    await brush(page, 'explore-chart', `${all[9]} 18:00`, `${to} 12:00`);
    await page.waitForURL(new RegExp(`from=${from}&to=${to}`));
    await page.waitForFunction((n) => document.getElementById('explore-chart').data[0].x.length === n, 11);
    assert.deepEqual(await xs(), all.slice(10, 21));
    await page.getByRole('button', { name: `Remove filter ${from} – ${to}` }).click();
    await page.waitForFunction((n) => document.getElementById('explore-chart').data[0].x.length === n, all.length);
    assert.ok(!page.url().includes('from='));
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});
