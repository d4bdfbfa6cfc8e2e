// Growth page: filters change the chart in place, and the unified tooltip lists each series
// exactly once with the values of the mart JSON for that period (churn, incomplete, ...).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitForCharts, hoverAt, count, sampleSite } from './harness.mjs';

const site = sampleSite();

/** Per period, summed over the countries kept. */
function sums(rows, keep = () => true) {
  const by = new Map();
  for (const r of rows.filter((r) => keep(r.country))) {
    const p = by.get(r.period) ?? { new: 0, retained: 0, resurrected: 0, churned: 0, active: 0, complete: true };
    p.new += r.new_users; p.retained += r.retained_users; p.resurrected += r.resurrected_users;
    p.churned += r.churned_users; p.active += r.active_users; p.complete &&= r.is_complete;
    by.set(r.period, p);
  }
  return by;
}

function expectedTooltip(p) {
  const tail = p.complete ? '' : ' (incomplete)';
  return [
    `New: ${count(p.new)}${tail}`,
    `Retained: ${count(p.retained)}${tail}`,
    `Resurrected: ${count(p.resurrected)}${tail}`,
    `Churned: ${count(p.churned)}${tail}`,
    `Active: ${count(p.active)}${tail}`,
  ];
}

test('the growth tooltip lists each series once with the mart values, churn positive, incomplete flagged', async () => {
  // Days: the sample's 100 users are active every week, so churn shows by day.
  const days = sums(await site.mart('user_growth_metrics_day'));
  const periods = [...days.keys()].sort();
  const withChurn = periods.find((p) => days.get(p).churned > 0 && days.get(p).resurrected > 0 && days.get(p).complete);
  const incomplete = periods.find((p) => !days.get(p).complete);
  assert.ok(withChurn && incomplete, 'the sample has a day with churn and an incomplete day');
  const { page, problems, close } = await site.open();
  try {
    await page.goto(site.page('growth', 'grain=day'));
    await waitForCharts(page);
    for (const period of [periods[0], periods[1], withChurn, periods.at(-2), incomplete]) {
      const tip = await hoverAt(page, 'growth-chart', period);
      assert.equal(tip.title, period, `tooltip title is the period label`);
      assert.deepEqual(tip.items, expectedTooltip(days.get(period)), `tooltip at ${period}`);
    }
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('changing grain and country redraws the chart without a page reload', async () => {
  const days = sums(await site.mart('user_growth_metrics_day'), (c) => c === 'SG');
  const { page, problems, close } = await site.open();
  try {
    await page.goto(site.page('growth'));
    await waitForCharts(page);
    await page.evaluate(() => { window.__stillHere = true; });
    const points = () => page.evaluate(() => document.getElementById('growth-chart').data[4].x.length);
    const weekly = await points();

    await page.getByRole('button', { name: 'day', exact: true }).click();
    await page.waitForFunction((n) => document.getElementById('growth-chart')?.data?.[4]?.x.length !== n, weekly);
    await waitForCharts(page);
    assert.equal(await points(), days.size);

    // Only SG: untick the other countries one by one.
    for (const c of ['ID', 'MY', 'PH', 'TH']) {
      await page.getByRole('checkbox', { name: c, exact: true }).uncheck();
      await page.waitForFunction((c) => !decodeURIComponent(location.search).includes(c), c);
    }
    await page.waitForFunction(() => /countries=SG$/.test(location.search));
    const day = [...days.keys()].sort()[10];
    await waitForCharts(page);
    const tip = await hoverAt(page, 'growth-chart', day);
    assert.deepEqual(tip.items, expectedTooltip(days.get(day)));
    assert.equal(await page.evaluate(() => window.__stillHere), true, 'no reload');
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('complete periods only hides the incomplete period', async () => {
  const { page, problems, close } = await site.open();
  try {
    await page.goto(site.page('growth', 'grain=month'));
    await waitForCharts(page);
    const before = await page.evaluate(() => document.getElementById('growth-chart').data[0].x.length);
    await page.getByRole('checkbox', { name: 'Complete periods only' }).check();
    await page.waitForFunction((n) => document.getElementById('growth-chart').data[0].x.length === n - 1, before);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('after zooming and panning, the tooltip still lists each series once with its own value', async () => {
  const days = sums(await site.mart('user_growth_metrics_day'));
  const periods = [...days.keys()].sort();
  const { page, problems, close } = await site.open();
  try {
    await page.goto(site.page('growth', 'grain=day'));
    await waitForCharts(page);
    // Zoom to two weeks (as the toolbar's zoom does), then pan a week later.
    const zoom = (a, b) => page.evaluate(([a, b]) =>
      window.Plotly.relayout('growth-chart', { 'xaxis.range': [`${a} 00:00`, `${b} 00:00`] }), [a, b]);
    await zoom(periods[30], periods[44]);
    for (const period of [periods[31], periods[40]]) {
      assert.deepEqual((await hoverAt(page, 'growth-chart', period)).items, expectedTooltip(days.get(period)), `zoomed, ${period}`);
    }
    await zoom(periods[37], periods[51]);
    for (const period of [periods[45], periods[50]]) {
      assert.deepEqual((await hoverAt(page, 'growth-chart', period)).items, expectedTooltip(days.get(period)), `panned, ${period}`);
    }
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});
