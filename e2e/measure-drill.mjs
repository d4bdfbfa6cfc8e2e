// Measures the time from a click on a growth bar to the drill-down panel listing its users,
// on `heymax serve` and on the exported static site, for a given warehouse (e.g. one built
// from 10M generated events). Not a test: timings belong in benchmarks.
// Usage: node e2e/measure-drill.mjs <warehouse> [grain] [clicks]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, startStaticSite, launch, waitForCharts, clickBar, cleanup } from './harness.mjs';

const [warehouse, grain = 'week', clicks = '4'] = process.argv.slice(2);
if (!warehouse) {
  console.error('usage: node e2e/measure-drill.mjs <warehouse> [grain] [clicks]');
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'heymax-measure-'));
const browser = await launch();
for (const [name, start] of [['serve', () => startServer(warehouse)], ['export', () => startStaticSite(warehouse, dir)]]) {
  const site = await start();
  // serve builds its drill-down files at startup (seconds of CPU at 10M); measure after it.
  if (name === "serve") await new Promise((r) => setTimeout(r, Number(process.env.WARMUP_MS ?? 0)));
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await page.goto(`${site.url}growth/?grain=${grain}`);
  await waitForCharts(page, 60000);
  const periods = await page.evaluate(() => document.getElementById('growth-chart').data[1].x);
  const times = [];
  for (let i = 0; i < Number(clicks); i++) {
    const period = periods[2 + i * 2];
    // Timed in the page, from the mouse button going down to the first user row drawn.
    await page.evaluate(() => {
      window.__down = null;
      document.addEventListener('mousedown', () => { window.__down = performance.now(); }, { once: true, capture: true });
    });
    await clickBar(page, 'growth-chart', 'Retained', period);
    const ms = await page.evaluate((p) => new Promise((resolve) => {
      const check = () => {
        if (document.querySelector(`.drill[data-drill="${p}:retained"] .drill-users tbody tr`)) {
          resolve(performance.now() - window.__down);
        } else {
          requestAnimationFrame(check);
        }
      };
      check();
    }), period);
    times.push(Math.round(ms));
    const users = await page.evaluate(() => document.querySelector('.drill [data-drill-users]').dataset.drillUsers);
    console.log(`${name}: ${grain} ${period} retained: ${users} users, panel after ${times.at(-1)} ms`);
  }
  site.stop();
}
await browser.close();
cleanup(dir);
