// The Plotly.js the site serves: heymax's partial bundle (scripts/plotly/, issue 18) is
// at most 500 KB gzip and has every trace type the dashboard draws; on every page each
// chart draws with no console error; tooltips (bars, heatmap, sankey), zoom, pan and the
// modebar's PNG download work. Screenshots under e2e/artifacts/ (`plotly-<page>.png`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { waitForCharts, hoverAt, artifacts, sampleSite, exported } from './harness.mjs';

const PAGES = ['', 'growth', 'retention', 'interactions', 'explore', 'pipeline'];
const TRACES = ['bar', 'heatmap', 'sankey', 'scatter'];
const MAX_GZIP = 500 * 1000;

const site = sampleSite();

/** The served plotly.min.js, and whether it is heymax's partial bundle (not the full one). */
async function servedPlotly() {
  const code = Buffer.from(await (await fetch(`${site.url}plotly.min.js`)).arrayBuffer());
  return { code, partial: code.subarray(0, 300).toString().includes('heymax partial bundle') };
}

test('the served Plotly.js is the partial bundle, at most 500 KB gzip', async () => {
  const { code, partial } = await servedPlotly();
  assert.ok(partial, 'the served plotly.min.js is not the partial bundle: scripts/bundle.py builds it with scripts/plotly/build.mjs');
  const gz = gzipSync(code, { level: 9 }).length;
  assert.ok(gz <= MAX_GZIP, `plotly.min.js is ${gz} bytes gzip (at most ${MAX_GZIP})`);
});

test('Plotly.js has every trace type the dashboard draws (and, partial, no other)', async () => {
  const { partial } = await servedPlotly();
  const { page, problems, close } = await site.open();
  try {
    await page.goto(site.page('growth'));
    await waitForCharts(page);
    const traces = await page.evaluate(() => Object.keys(window.Plotly.PlotSchema.get().traces).sort());
    for (const t of TRACES) assert.ok(traces.includes(t), `trace type ${t}`);
    assert.ok(partial, "the partial bundle is served");
    assert.deepEqual(traces, TRACES);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

for (const path of PAGES) {
  test(`${path || 'overview'}: every chart draws (an svg.main-svg), no console error`, async () => {
    const { page, problems, close } = await site.open();
    try {
      await page.goto(site.page(path));
      await waitForCharts(page);
      const charts = await page.evaluate(() => [...document.querySelectorAll('.js-plotly-plot')].map((p) => ({
        id: p.id,
        svg: p.querySelectorAll('svg.main-svg').length,
        traces: p._fullData.length,
        error: p.parentElement.querySelector('p.error:not([hidden])')?.textContent ?? null,
      })));
      for (const c of charts) {
        assert.ok(c.svg > 0, `${c.id} has an svg.main-svg`);
        assert.ok(c.traces > 0, `${c.id} has traces`);
        assert.equal(c.error, null, `${c.id} shows no error`);
      }
      await page.screenshot({ path: join(artifacts, `plotly-${exported ? 'exported-' : ''}${path || 'overview'}.png`), fullPage: true });
      assert.deepEqual(problems, []);
    } finally {
      await close();
    }
  });
}

test('tooltips: a bar (unified x), a heatmap cell and a sankey link', async () => {
  const { page, problems, close } = await site.open();
  try {
    await page.goto(site.page('growth'));
    await waitForCharts(page);
    const period = await page.evaluate(() => {
      const bar = document.getElementById('growth-chart').data.find((t) => t.type === 'bar');
      return bar.x[Math.floor(bar.x.length / 2)];
    });
    const tip = await hoverAt(page, 'growth-chart', period);
    assert.equal(tip.title, period);
    assert.ok(tip.items.length > 0, 'the bar tooltip lists the series');

    /** Hovers the middle of `selector` and waits for a (non-unified) hover label. */
    const hoverLabel = async (selector) => {
      await page.mouse.move(1, 1);
      const el = page.locator(selector).first();
      await el.scrollIntoViewIfNeeded();
      const box = await el.boundingBox();
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 3 });
      await page.waitForSelector('.hoverlayer .hovertext', { timeout: 5000 });
      return page.locator('.hoverlayer .hovertext').first().textContent();
    };
    await page.goto(site.page('retention'));
    await waitForCharts(page);
    const cell = await hoverLabel('#retention-heatmap .nsewdrag');
    assert.ok(cell.length > 0, 'the heatmap cell tooltip has text');

    await page.goto(site.page('interactions'));
    await waitForCharts(page);
    const counts = await page.evaluate(() => ({
      nodes: document.querySelectorAll('#interactions-sankey .sankey-node').length,
      links: document.querySelectorAll('#interactions-sankey .sankey-link').length,
    }));
    assert.ok(counts.nodes > 1 && counts.links > 0, `the sankey draws nodes and links: ${JSON.stringify(counts)}`);
    const link = await hoverLabel('#interactions-sankey .sankey-link');
    assert.ok(link.length > 0, 'the sankey link tooltip has text');
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('zoom and pan from the modebar change the x range; a double click resets it', async () => {
  const { page, problems, close } = await site.open();
  try {
    await page.goto(site.page('growth'));
    await waitForCharts(page);
    const range = () => page.evaluate(() => document.getElementById('growth-chart')._fullLayout.xaxis.range.map(String));
    const drag = async (fromX, toX) => {
      const area = await page.locator('#growth-chart .nsewdrag').first().boundingBox();
      const y = area.y + area.height * 0.5;
      await page.mouse.move(area.x + area.width * fromX, y);
      await page.mouse.down();
      await page.mouse.move(area.x + area.width * ((fromX + toX) / 2), y, { steps: 5 });
      await page.mouse.move(area.x + area.width * toX, y, { steps: 5 });
      await page.mouse.up();
    };
    const mode = async (val) => {
      await page.locator('#growth-chart').hover();
      await page.locator(`#growth-chart .modebar-btn[data-attr="dragmode"][data-val="${val}"]`).click();
      assert.equal(await page.evaluate(() => document.getElementById('growth-chart')._fullLayout.dragmode), val);
    };
    const full = await range();
    await mode('zoom');
    await drag(0.3, 0.6);
    await page.waitForFunction((r) => String(document.getElementById('growth-chart')._fullLayout.xaxis.range) !== r.join(','), full);
    const zoomed = await range();
    assert.notDeepEqual(zoomed, full, 'zoom narrows the x range');
    await mode('pan');
    await drag(0.6, 0.4);
    await page.waitForFunction((r) => String(document.getElementById('growth-chart')._fullLayout.xaxis.range) !== r.join(','), zoomed);
    assert.notDeepEqual(await range(), zoomed, 'pan moves the x range');
    const area = await page.locator('#growth-chart .nsewdrag').first().boundingBox();
    await page.mouse.dblclick(area.x + area.width / 2, area.y + area.height / 2);
    await page.waitForFunction((r) => String(document.getElementById('growth-chart')._fullLayout.xaxis.range) === r.join(','), full);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('the modebar downloads the chart as a PNG', async () => {
  const { page, problems, close } = await site.open();
  try {
    await page.goto(site.page('interactions'));
    await waitForCharts(page);
    await page.locator('#interactions-sankey').hover();
    const button = page.locator('#interactions-sankey .modebar-btn[data-title="Download plot as a PNG"]');
    assert.equal(await button.count(), 1, 'the modebar has the PNG download');
    const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
    assert.match(download.suggestedFilename(), /\.png$/);
    const png = readFileSync(await download.path());
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
    assert.ok(png.length > 2000, `the PNG has content (${png.length} bytes)`);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});
