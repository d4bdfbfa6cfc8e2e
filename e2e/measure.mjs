// Measures, for each page, the time from navigation start until every chart is drawn
// (hydrated and plotted), cold cache (a new browser context per load), on `heymax serve`
// and on the exported static site of a given warehouse. Not a test: timings belong in
// benchmarks. Usage: node e2e/measure.mjs <warehouse> [runs]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, startStaticSite, launch, waitForCharts, cleanup } from './harness.mjs';

const [warehouse, runs = '3'] = process.argv.slice(2);
if (!warehouse) {
  console.error('usage: node e2e/measure.mjs <warehouse> [runs]');
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'heymax-measure-'));
const browser = await launch();
const pages = ['', 'growth', 'retention', 'interactions', 'explore', 'pipeline'];
for (const [name, start] of [['serve', () => startServer(warehouse)], ['export', () => startStaticSite(warehouse, dir)]]) {
  const site = await start();
  // serve builds its drill-down files at startup (seconds of CPU at 10M); measure after it.
  if (name === "serve") await new Promise((r) => setTimeout(r, Number(process.env.WARMUP_MS ?? 0)));
  for (const path of pages) {
    const times = [];
    for (let i = 0; i < Number(runs); i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      await page.goto(site.url + (path ? `${path}/` : '') + (path === 'growth' ? '?grain=day' : ''));
      await waitForCharts(page, 60000);
      times.push(await page.evaluate(() => performance.now()));
      await context.close();
    }
    times.sort((a, b) => a - b);
    const list = times.map((t) => `${Math.round(t)} ms`).join(', ');
    console.log(`${name.padEnd(6)} /${path.padEnd(13)} charts drawn after ${list} (median ${Math.round(times[Math.floor(times.length / 2)])} ms)`);
  }
  site.stop();
}
await browser.close();
cleanup(dir);
