// Measures, for each page, the time from navigation start until every chart is drawn
// (hydrated and plotted) against `heymax serve` on a given warehouse. Not a test: timings
// belong in benchmarks. Usage: node e2e/measure.mjs <warehouse> [runs]
import { startServer, launch, waitForCharts } from './harness.mjs';

const [warehouse, runs = '3'] = process.argv.slice(2);
if (!warehouse) {
  console.error('usage: node e2e/measure.mjs <warehouse> [runs]');
  process.exit(1);
}
const server = await startServer(warehouse);
const browser = await launch();
const pages = ['', 'growth', 'retention', 'interactions', 'explore'];
for (const path of pages) {
  const times = [];
  for (let i = 0; i < Number(runs); i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(server.url + path + (path === 'growth' ? '?grain=day' : ''));
    await waitForCharts(page, 30000);
    times.push(await page.evaluate(() => performance.now()));
    await context.close();
  }
  times.sort((a, b) => a - b);
  console.log(`/${path.padEnd(13)} charts drawn after ${times.map((t) => `${Math.round(t)} ms`).join(', ')} (median ${Math.round(times[Math.floor(times.length / 2)])} ms)`);
}
await browser.close();
server.stop();
