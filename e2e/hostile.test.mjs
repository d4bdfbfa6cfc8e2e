// Countries named like paths and URL syntax (`a/b#c?d`, `a,b`, `all`, `../../PWNED`,
// `100% x&y=z`) and user ids that are UUIDs or e-mails: the drill panels of such a country
// list exactly what the marts count, the all-countries Sankey drill loads, and a country
// filter holding `a,b` survives the URL. On `heymax serve` and on the export
// (HEYMAX_E2E_SITE=served|exported).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { sampleSite, waitForCharts, artifacts, exported } from './harness.mjs';

const COUNTRIES = ['a/b#c?d', 'a,b', 'all', '../../PWNED', '100% x&y=z', 'SG'];

/** Three users per country on days that make them new, retained, churned and resurrected. */
function events() {
  const quote = (v) => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
  const lines = ['event_time,user_id,event_type,transaction_category,miles_amount,platform,utm_source,country'];
  COUNTRIES.forEach((country, c) => {
    const users = [`${c.toString(16).padStart(8, '0')}-9a4d-4e8b-b1c2-5d6e7f8091a2`,
      `someone.with.a.long.name+${c}a@example.com`, `someone.with.a.long.name+${c}b@example.com`];
    users.forEach((user, u) => {
      for (const day of [1 + u, 2 + u, 9 + u + (c % 3), 20]) {
        for (const [event, category, miles] of [['miles_earned', 'dining', '12.5'], ['like', '', '']]) {
          const time = `2025-03-${String(day).padStart(2, '0')} 09:50:20.784808`;
          lines.push([time, user, event, category, miles, 'web', 'ads', country].map(quote).join(','));
        }
      }
    });
  });
  return `${lines.join('\n')}\n`;
}

/** A list item as the dashboard writes it in a URL (`app::state::encode_item`). */
const item = (name) => [...new TextEncoder().encode(name)]
  .map((b) => (/[A-Za-z0-9._-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `~${b.toString(16).toUpperCase().padStart(2, '0')}`))
  .join('');

const site = sampleSite(events());

const open = site.open;
const mart = site.mart;
const panel = (page) => page.evaluate(() => ({
  count: Number(document.querySelector('.drill [data-drill-count]').dataset.drillCount),
  listed: Number(document.querySelector('.drill [data-drill-users]').dataset.drillUsers),
  errors: [...document.querySelectorAll('.drill .error')].map((e) => e.textContent),
  ids: [...document.querySelectorAll('.drill-users tbody tr')].map((tr) => tr.cells[0].textContent),
  rowCountries: [...document.querySelectorAll('.drill-users tbody tr')].map((tr) => tr.cells[1]?.textContent),
}));

test('the Sankey drill of a country named like a path, of `all`, and of all countries lists the mart\'s users', async () => {
  const rows = (await mart('user_interactions'))
    .filter((r) => r.event_type === 'miles_earned' && r.transaction_category === 'dining');
  const { page, problems, close } = await open();
  try {
    await page.goto(`${site.url}interactions/?flow=miles_earned%3Adining`);
    await waitForCharts(page);
    await page.waitForSelector('.drill-users tbody tr');
    let shown = await panel(page);
    const total = rows.reduce((s, r) => s + r.users, 0);
    assert.deepEqual([shown.count, shown.listed, shown.errors], [total, total, []], 'all countries');
    for (const country of ['a/b#c?d', 'all', 'a,b', '../../PWNED', '100% x&y=z']) {
      const users = rows.find((r) => r.country === country).users;
      await page.getByRole('group', { name: 'Country' }).getByRole('button', { name: country, exact: true }).click();
      await page.waitForFunction((c) => new URL(location.href).searchParams.get('country') === c, country);
      await page.waitForFunction((n) => document.querySelector('.drill [data-drill-count]')?.dataset.drillCount === String(n)
        && document.querySelector('.drill [data-drill-users]')?.dataset.drillUsers === String(n), users);
      shown = await panel(page);
      assert.deepEqual([shown.count, shown.listed, shown.errors], [users, users, []], country);
      assert.ok(shown.ids.every((id) => id.length > 19), `whole ids: ${shown.ids}`);
    }
    await page.screenshot({ path: join(artifacts, `${exported ? 'exported-' : ''}hostile-sankey.png`), fullPage: true });
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('a growth drill filtered to the country `a,b` lists exactly its users, and the filter survives a reload', async () => {
  const rows = (await mart('user_growth_metrics_day')).filter((r) => r.country === 'a,b' && r.new_users > 0);
  const { period, new_users: expected } = rows[0];
  const { page, problems, close } = await open();
  try {
    await page.goto(`${site.url}growth/?grain=day&drill=${period}%3Anew&countries=${encodeURIComponent(item('a,b'))}`);
    await waitForCharts(page);
    await page.waitForSelector('.drill-users tbody tr');
    const shown = await panel(page);
    assert.deepEqual([shown.count, shown.listed, shown.errors], [expected, expected, []]);
    assert.ok(shown.rowCountries.every((c) => c === 'a,b'), `only a,b: ${shown.rowCountries}`);
    await page.screenshot({ path: join(artifacts, `${exported ? 'exported-' : ''}hostile-growth.png`), fullPage: true });

    // The picker: `a,b` alone is checked; adding another country keeps both across a reload.
    const box = (name) => page.locator('fieldset.countries label.chip', { hasText: name }).locator('input');
    const checked = async () => Object.fromEntries(await Promise.all(COUNTRIES.map(async (c) => [c,
      await page.locator('fieldset.countries input[name="country"]').and(page.locator(`[value="${c.replaceAll('"', '\\"')}"]`)).isChecked()])));
    assert.deepEqual(await checked(), Object.fromEntries(COUNTRIES.map((c) => [c, c === 'a,b'])));
    await box('100% x&y=z').check();
    await page.waitForFunction(() => new URL(location.href).searchParams.get('countries')?.includes(','));
    await page.reload();
    await waitForCharts(page);
    await page.waitForSelector('.drill-users tbody tr');
    assert.deepEqual(await checked(), Object.fromEntries(COUNTRIES.map((c) => [c, c === 'a,b' || c === '100% x&y=z'])));
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});
