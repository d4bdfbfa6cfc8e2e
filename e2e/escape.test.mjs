// Markup in the data stays text (issue 15, item 7): a tiny event stream whose countries and
// transaction categories are a link, bold text and a span styled to cover the page. Plotly
// renders pseudo-HTML in labels and legends, so unless every data-derived string is escaped
// the Sankey and the retention legend draw a live link to example.com and a red overlay.
// Screenshots: e2e/artifacts/escape-<page>.png (`exported-escape-...` for the static site).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { sampleSite, waitForCharts, artifacts, exported, listItems } from './harness.mjs';

const LINK = '<a href="https://example.com/">x</a>';
const BOLD = '<b>bold</b>';
const COVER = '<span style="position:fixed;inset:0;background:red">cover</span>';
const HOSTILE = [LINK, BOLD, COVER];

/** RFC 4180: quote a field that holds a quote, comma or newline. */
const field = (s) => (/[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);

/**
 * Four users (one per hostile country, one in SG) active on signup day and days 1, 7, 14
 * and 30, so the heatmap and the curves have points; miles_earned events go to the
 * hostile categories and to dining.
 */
function hostileCsv() {
  const lines = ['event_time,user_id,event_type,transaction_category,miles_amount,platform,utm_source,country'];
  const countries = [...HOSTILE, 'SG'];
  const categories = [...HOSTILE, 'dining'];
  const types = ['miles_earned', 'reward_search', 'miles_earned', 'like', 'miles_redeemed', 'share'];
  countries.forEach((country, u) => {
    [0, 1, 7, 14, 30].forEach((offset, k) => {
      const day = new Date(Date.UTC(2025, 2, 3 + u + offset));
      const time = `${day.toISOString().slice(0, 10)} 20:45:1${k}`;
      const type = types[(u + k) % types.length];
      const withCategory = type === 'miles_earned' || type === 'miles_redeemed';
      const category = withCategory ? categories[(u + k) % categories.length] : '';
      const miles = withCategory ? String(100 + 10 * k) : '';
      lines.push([time, `u_${u}`, type, category, miles, 'web', 'organic', country].map(field).join(','));
    });
    // Every hostile category gets at least one flow, whatever the cycle above picked.
    lines.push([`2025-03-0${3 + u} 21:00:00`, `u_${u}`, 'miles_earned', categories[u], '50', 'ios', 'google', country]
      .map(field).join(','));
  });
  return `${lines.join('\n')}\n`;
}

const site = sampleSite(hostileCsv());

/**
 * What the data could have turned into markup inside the charts: any link or style
 * attribute that carries the hostile values (Plotly turns `<a href>` into an SVG `<a>`
 * with `xlink:href`, `<span style>` into a `<tspan style>`, `<b>` into bold).
 */
async function markupInCharts(page) {
  return page.evaluate(() => {
    const found = [];
    for (const plot of document.querySelectorAll('.js-plotly-plot')) {
      for (const el of plot.querySelectorAll('*')) {
        const href = el.getAttribute('href') ?? el.getAttribute('xlink:href')
          ?? el.getAttributeNS('http://www.w3.org/1999/xlink', 'href') ?? '';
        if (href.includes('example.com')) found.push(`${plot.id}: <${el.tagName} href=${href}>`);
        const style = el.getAttribute('style') ?? '';
        if (/inset|background:\s*red|position:\s*fixed/.test(style)) found.push(`${plot.id}: <${el.tagName} style=${style}>`);
        if (el.tagName === 'tspan' && /font-weight:\s*bold/.test(style)) found.push(`${plot.id}: bold <tspan> "${el.textContent}"`);
      }
    }
    return found;
  });
}

const url = (path, query = '') => `${site.url}${path}/${query ? `?${query}` : ''}`;
const open = site.open;
const shot = (name) => join(artifacts, `${exported ? 'exported-' : ''}escape-${name}.png`);

test('Sankey labels and tooltips show markup from the data as text; a click on such a link still picks it', async () => {
  const { page, problems, close } = await open();
  try {
    await page.goto(url('interactions'));
    await waitForCharts(page);
    await page.screenshot({ path: shot('interactions'), fullPage: true });
    assert.deepEqual(await markupInCharts(page), []);
    const labels = await page.locator('#interactions-sankey .node-label').allTextContents();
    for (const text of HOSTILE) assert.ok(labels.includes(text), `node label ${text} shown as written: ${labels}`);

    // The link to the bold category: its tooltip shows the name as written, and a click
    // picks the category as the data has it (Plotly reports the escaped label back).
    const index = await page.evaluate((bold) => [...document.querySelectorAll('#interactions-sankey .sankey-link')]
      .findIndex((p) => p.__data__.link.target.label === bold.replaceAll('<', '&lt;').replaceAll('>', '&gt;')), BOLD);
    assert.ok(index >= 0, 'a link to the <b>bold</b> category is drawn');
    const link = page.locator('#interactions-sankey .sankey-link').nth(index);
    await link.hover({ force: true });
    const tip = await page.locator('.hoverlayer .hovertext').first().textContent();
    assert.ok(tip.includes(`→ ${BOLD}:`), tip);
    assert.deepEqual(await markupInCharts(page), [], 'the tooltip has no markup either');
    await link.click({ force: true });
    await page.waitForURL((u) => (new URL(u).searchParams.get('flow') ?? '').endsWith(`:${BOLD}`));
    await page.waitForSelector('.drill-users tbody tr');
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('retention legend names show markup from the data as text; a legend click still filters by that country', async () => {
  const { page, problems, close } = await open();
  try {
    await page.goto(url('retention'));
    await waitForCharts(page);
    await page.screenshot({ path: shot('retention'), fullPage: true });
    assert.deepEqual(await markupInCharts(page), []);
    const names = await page.locator('#retention-curves .legend .legendtext').allTextContents();
    for (const text of HOSTILE) assert.ok(names.includes(text), `legend ${text} shown as written: ${names}`);
    // Nothing from the data covers the page: the element at the centre is the dashboard's.
    const centre = await page.evaluate(() => {
      const el = document.elementFromPoint(innerWidth / 2, innerHeight / 2);
      return el?.closest('[style*="inset"]') ? 'covered' : 'ok';
    });
    assert.equal(centre, 'ok');

    await page.locator('#retention-curves .legend g.traces', { hasText: BOLD }).locator('.legendtoggle').click();
    await page.waitForURL((u) => listItems(new URL(u).searchParams.get('countries')).join('|') === BOLD);
    await waitForCharts(page);
    assert.deepEqual(await markupInCharts(page), []);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('no page links to example.com or draws the covering span', async () => {
  const { page, problems, close } = await open();
  try {
    for (const path of ['', 'growth', 'explore']) {
      await page.goto(path ? url(path) : site.url);
      await waitForCharts(page);
      assert.deepEqual(await markupInCharts(page), [], path || 'overview');
      const links = await page.evaluate(() => [...document.querySelectorAll('a')]
        .map((a) => a.getAttribute('href') ?? '').filter((h) => h.includes('example.com')));
      assert.deepEqual(links, [], path || 'overview');
    }
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});
