// Drill-down and cross-filtering on the Growth page: a click on a bar opens the users
// behind it (count = the bar's value, list = that many users, breakdown = the mart per
// country); a shared link restores the selection; brushing a date range filters both
// charts and the range totals; the reset chip restores them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { waitForCharts, clickBar, brush, count, sampleSite, artifacts, exported } from './harness.mjs';

const site = sampleSite();

/** The day mart summed per period (all countries, or `keep`). */
async function days(keep = () => true) {
  const rows = (await site.mart('user_growth_metrics_day')).filter((r) => keep(r.country));
  const by = new Map();
  for (const r of rows) {
    const p = by.get(r.period) ?? { new: 0, churned: 0, resurrected: 0, byCountry: {} };
    p.new += r.new_users; p.churned += r.churned_users; p.resurrected += r.resurrected_users;
    p.byCountry[r.country] = r.churned_users;
    by.set(r.period, p);
  }
  return by;
}

const drillNumbers = (page) => page.evaluate(() => ({
  count: Number(document.querySelector('.drill [data-drill-count]').dataset.drillCount),
  listed: Number(document.querySelector('.drill [data-drill-users]').dataset.drillUsers),
  countries: Object.fromEntries([...document.querySelectorAll('.drill-countries tbody tr')]
    .map((tr) => [tr.cells[0].textContent, Number(tr.cells[1].textContent.replace(/,/g, ''))])),
  firstIds: [...document.querySelectorAll('.drill-users tbody tr')].map((tr) => tr.cells[0].textContent),
  rowCountries: [...document.querySelectorAll('.drill-users tbody tr')].map((tr) => tr.cells[1].textContent),
}));

test('clicking a churned bar lists exactly the users behind it, and its link restores the selection', async () => {
  const all = await days();
  const day = [...all.keys()].sort().find((p) => all.get(p).churned >= 10);
  const { page, problems, close } = await site.open();
  try {
    await page.goto(site.page('growth', 'grain=day'));
    await waitForCharts(page);
    await clickBar(page, 'growth-chart', 'Churned', day);
    await page.waitForURL(new RegExp(`drill=${day}%3Achurned`));
    await page.waitForSelector('.drill-users tbody tr');
    const shown = await drillNumbers(page);
    assert.equal(shown.count, all.get(day).churned, 'the panel count is the bar value');
    assert.equal(shown.listed, shown.count, 'as many users are listed as the bar counts');
    assert.deepEqual(shown.countries, all.get(day).byCountry, 'breakdown by country = the mart');
    assert.deepEqual(shown.firstIds, [...shown.firstIds].sort(), 'sorted by user id');
    await page.screenshot({ path: join(artifacts, `${exported ? 'exported-' : ''}drill.png`), fullPage: true });

    // The link reproduces it, here narrowed to one country.
    const link = await page.getByRole('link', { name: 'Link to this selection' }).getAttribute('href');
    const sg = (await days((c) => c === 'SG')).get(day).churned;
    const direct = await site.open();
    await direct.page.goto(new URL(link, site.url).href + '&countries=SG');
    await direct.page.waitForSelector('.drill-users tbody tr, .drill [data-drill-users="0"]');
    const narrowed = await drillNumbers(direct.page);
    assert.equal(narrowed.count, sg);
    assert.equal(narrowed.listed, sg);
    assert.ok(narrowed.rowCountries.every((c) => c === 'SG'), 'only SG users');
    assert.deepEqual(direct.problems, []);
    await direct.close();

    // Close removes the selection from the URL.
    await page.getByRole('button', { name: 'Close' }).click();
    await page.waitForFunction(() => !location.search.includes('drill='));
    assert.equal(await page.locator('.drill').count(), 0);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('brushing a date range filters the charts and the totals; the reset chip restores them', async () => {
  const all = await days();
  const periods = [...all.keys()].sort();
  const [from, to] = [periods[20], periods[34]];
  const inRange = periods.filter((p) => p >= from && p <= to);
  const sum = (ps, k) => ps.reduce((s, p) => s + all.get(p)[k], 0);
  const { page, problems, close } = await site.open();
  try {
    await page.goto(site.page('growth', 'grain=day'));
    await waitForCharts(page);
    const kpi = (label) => page.locator(`[data-kpi="${label}"]`).textContent();
    assert.equal(await kpi('Churned users'), count(sum(periods, 'churned')));
    // From a quarter day before the first bar's centre to a half day after the last one's.
    await brush(page, 'growth-chart', `${periods[19]} 18:00`, `${to} 12:00`);
    await page.waitForURL(new RegExp(`from=${from}&to=${to}`));
    await page.waitForFunction((n) => document.getElementById('growth-chart').data[0].x.length === n, inRange.length);
    await page.waitForFunction((n) => document.getElementById('quick-ratio-chart').data[0].x.length === n, inRange.length);
    assert.equal(await kpi('Churned users'), count(sum(inRange, 'churned')));
    assert.equal(await kpi('New users'), count(sum(inRange, 'new')));
    assert.equal(await page.getByRole('button', { name: `Remove filter ${from} – ${to}` }).count(), 1);

    await page.getByRole('button', { name: 'Reset all' }).click();
    await page.waitForFunction(() => !location.search.includes('from='));
    await page.waitForFunction((n) => document.getElementById('growth-chart').data[0].x.length === n, periods.length);
    assert.equal(await kpi('Churned users'), count(sum(periods, 'churned')));
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('clicking a retention cell lists the cohort and who came back that day; a legend click filters by country', async () => {
  const rows = await site.mart('user_retention');
  // Weekly cohorts (the page's default grain): the first week, D7.
  const monday = (d) => {
    const t = new Date(`${d}T00:00:00Z`);
    t.setUTCDate(t.getUTCDate() - ((t.getUTCDay() + 6) % 7));
    return t.toISOString().slice(0, 10);
  };
  const week = rows.map((r) => monday(r.cohort_date)).sort()[0];
  const cohort = rows.filter((r) => monday(r.cohort_date) === week);
  const size = cohort.reduce((s, r) => s + r.cohort_size, 0);
  const d7 = cohort.reduce((s, r) => s + (r.d7_retained ?? 0), 0);
  const { page, problems, close } = await site.open();
  try {
    await page.goto(site.page('retention'));
    await waitForCharts(page);
    const point = await page.evaluate((week) => {
      const gd = document.getElementById('retention-heatmap');
      gd.scrollIntoView({ block: 'center' });
      const xa = gd._fullLayout.xaxis;
      const ya = gd._fullLayout.yaxis;
      const box = gd.getBoundingClientRect();
      const row = gd.data[0].y.findIndex((y) => y.startsWith(week));
      return { x: box.left + xa._offset + xa.l2p(gd.data[0].x.indexOf('D7')), y: box.top + ya._offset + ya.l2p(row) };
    }, week);
    await page.mouse.move(point.x, point.y);
    await page.waitForSelector('.hoverlayer .hovertext');
    await page.mouse.click(point.x, point.y);
    await page.waitForURL(new RegExp(`cell=${week}%3A7`));
    await page.waitForSelector('.drill-users tbody tr');
    const shown = await page.evaluate(() => ({
      count: Number(document.querySelector('.drill [data-drill-count]').dataset.drillCount),
      listed: Number(document.querySelector('.drill [data-drill-users]').dataset.drillUsers),
      seen: Number(document.querySelector('.drill [data-drill-seen]').dataset.drillSeen),
    }));
    assert.deepEqual(shown, { count: size, listed: size, seen: d7 });

    // The legend of the curves by country: one click keeps only that country on the page.
    await page.locator('#retention-curves .legend g.traces', { hasText: 'MY' }).locator('.legendtoggle').click();
    await page.waitForURL(/countries=MY/);
    const my = cohort.filter((r) => r.country === 'MY');
    await page.waitForFunction((n) => Number(document.querySelector('.drill [data-drill-count]')?.dataset.drillCount) === n,
      my.reduce((s, r) => s + r.cohort_size, 0));
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('clicking a Sankey link shows that flow\'s totals and its most active users', async () => {
  const rows = (await site.mart('user_interactions')).filter((r) => r.country === 'SG');
  const flow = rows.find((r) => r.event_type === 'miles_earned' && r.transaction_category === 'dining');
  const { page, problems, close } = await site.open();
  try {
    await page.goto(site.page('interactions', 'country=SG'));
    await waitForCharts(page);
    const index = await page.evaluate(() => [...document.querySelectorAll('#interactions-sankey .sankey-link')]
      .findIndex((p) => p.__data__.link.source.label === 'miles_earned' && p.__data__.link.target.label === 'dining'));
    assert.ok(index >= 0, 'the miles_earned -> dining link is drawn');
    const link = page.locator('#interactions-sankey .sankey-link').nth(index);
    await link.hover({ force: true });
    // The link's tooltip: its counts and share, as the mart has them.
    const tip = await page.locator('.hoverlayer .hovertext').first().textContent();
    assert.ok(tip.includes(`miles_earned → dining: ${count(flow.interactions)} interactions`), tip);
    await link.click({ force: true });
    await page.waitForURL(/flow=miles_earned%3Adining/);
    await page.waitForSelector('.drill-users tbody tr');
    const shown = await page.evaluate(() => ({
      count: Number(document.querySelector('.drill [data-drill-count]').dataset.drillCount),
      users: Number(document.querySelector('.drill [data-drill-users]').dataset.drillUsers),
      interactions: document.querySelector('.drill [data-flow="interactions"]').textContent,
      top: [...document.querySelectorAll('.drill-users tbody tr')].map((tr) => Number(tr.cells[1].textContent.replace(/,/g, ''))),
    }));
    assert.equal(shown.count, flow.users);
    assert.equal(shown.users, flow.users);
    assert.equal(shown.interactions, count(flow.interactions));
    assert.ok(shown.top.length > 0 && shown.top.length <= 20);
    assert.deepEqual(shown.top, [...shown.top].sort((a, b) => b - a), 'most active first');
    assert.ok(shown.top.reduce((s, n) => s + n, 0) <= flow.interactions);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('a large selection pages in user id order, sorts by another column and downloads whole as CSV', async () => {
  // The week with the most retained users: more than one page of 50.
  const rows = await site.mart('user_growth_metrics_week');
  const by = new Map();
  for (const r of rows) by.set(r.period, (by.get(r.period) ?? 0) + r.retained_users);
  const [week, total] = [...by.entries()].sort((a, b) => b[1] - a[1])[0];
  assert.ok(total > 50, `the sample has a week of more than 50 retained users (${total})`);
  const { page, problems, close } = await site.open();
  const ids = () => page.evaluate(() => [...document.querySelectorAll('.drill-users tbody tr')].map((tr) => tr.cells[0].textContent));
  try {
    await page.goto(site.page('growth', `grain=week&drill=${week}%3Aretained`));
    await waitForCharts(page);
    await page.waitForSelector('.drill-users tbody tr');
    const shown = await drillNumbers(page);
    assert.deepEqual([shown.count, shown.listed], [total, total]);
    const first = await ids();
    assert.equal(first.length, 50);
    await page.getByRole('navigation', { name: 'Pages of users' }).getByRole('button', { name: 'Next' }).click();
    await page.waitForFunction((id) => document.querySelector('.drill-users tbody tr td')?.textContent !== id, first[0]);
    const second = await ids();
    const paged = [...first, ...second];
    assert.equal(paged.length, Math.min(total, 100));
    assert.deepEqual(paged, [...paged].sort(), 'the pages follow each other in user id order');
    assert.equal(new Set(paged).size, paged.length, 'no user twice');
    await page.screenshot({ path: join(artifacts, `${exported ? 'exported-' : ''}drill-page2.png`), fullPage: true });

    // Sorting by events fetches every user first, then sorts them all.
    await page.getByRole('region', { name: 'Drill-down' }).getByRole('button', { name: 'events in period' }).click();
    await page.waitForSelector('.drill-users th button:text("events in period ▲")');
    const events = await page.evaluate(() => [...document.querySelectorAll('.drill-users tbody tr')]
      .map((tr) => Number(tr.cells[4].textContent.replace(/,/g, ''))));
    assert.equal(events.length, 50);
    assert.deepEqual(events, [...events].sort((a, b) => a - b), 'fewest events first');

    // The CSV holds the whole selection, one line per user.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('region', { name: 'Drill-down' }).getByRole('link', { name: 'Download CSV' }).click(),
    ]);
    const csv = readFileSync(await download.path(), 'utf8').trim().split('\n');
    assert.equal(csv[0], 'user_id,country,first seen,last seen,events in period');
    assert.equal(csv.length - 1, total, 'every user of the selection');
    const csvIds = csv.slice(1).map((l) => l.split(',')[0]);
    assert.equal(new Set(csvIds).size, total);
    for (const id of paged) assert.ok(csvIds.includes(id), id);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('the CSV of a selection not loaded yet is fetched whole first', async () => {
  const rows = await site.mart('user_growth_metrics_month');
  const month = rows.filter((r) => r.new_users > 0).map((r) => r.period).sort()[0];
  const total = rows.filter((r) => r.period === month).reduce((s, r) => s + r.new_users, 0);
  const { page, problems, close } = await site.open();
  try {
    await page.goto(site.page('growth', `grain=month&drill=${month}%3Anew`));
    await waitForCharts(page);
    await page.waitForSelector('.drill-users tbody tr');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('region', { name: 'Drill-down' }).getByRole('link', { name: 'Download CSV' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), `new-${month}.csv`);
    const csv = readFileSync(await download.path(), 'utf8').trim().split('\n');
    assert.equal(csv.length - 1, total);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});
