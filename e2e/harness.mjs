// Shared setup for the browser tests: a warehouse built from the sample, served on a free
// port, Debian's Chromium driven by playwright-core, and helpers that fail a test on any
// console error, failed request or request outside the site.
//
// HEYMAX_E2E_SITE picks what serves the site: `served` (default) runs `heymax serve`;
// `exported` runs `heymax export --base-path /heymax/` and serves the files with Python's
// plain static server under /heymax/, as GitHub Pages would. scripts/test.sh runs both.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { before, after } from 'node:test';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const artifacts = join(root, 'e2e', 'artifacts');
mkdirSync(artifacts, { recursive: true });

const bin = process.env.HEYMAX_BIN
  ?? join(process.env.CARGO_TARGET_DIR ?? join(process.env.HOME, '.cache/heymax/target'), 'release/heymax');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Builds a warehouse from `input` (the sample by default) in a fresh temp folder. */
export function buildWarehouse(input = join(root, 'data/sample/event_stream.csv')) {
  const dir = mkdtempSync(join(tmpdir(), 'heymax-e2e-'));
  const warehouse = join(dir, 'warehouse');
  execFileSync(bin, ['--quiet', 'run', '--input', input, '--warehouse', warehouse], { stdio: ['ignore', 'ignore', 'inherit'] });
  return { dir, warehouse };
}

/**
 * The bundle the browser gets: the one built into heymax (what ships), unless
 * HEYMAX_E2E_DIST names a folder (to try a bundle without rebuilding heymax).
 */
const distArgs = process.env.HEYMAX_E2E_DIST ? ['--dist', process.env.HEYMAX_E2E_DIST] : [];

/** Starts `heymax serve` and resolves once it prints its URL. */
export function startServer(warehouse, extra = []) {
  const child = spawn(bin, ['serve', '--warehouse', warehouse, ...distArgs, '--port', '0', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: 'warn' } });
  let log = '';
  child.stderr.on('data', (d) => { log += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`heymax serve did not start:\n${log}`)), 30000);
    child.stdout.on('data', (d) => {
      const m = /heymax dashboard: (\S+)/.exec(String(d));
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], stop: () => child.kill('SIGINT'), log: () => log });
      }
    });
    child.on('exit', (code) => reject(new Error(`heymax serve exited (${code}):\n${log}`)));
  });
}

/**
 * Exports the dashboard of `warehouse` under /heymax/ and serves its parent folder with
 * `python3 -m http.server` (no heymax involved); resolves once it listens.
 */
export function startStaticSite(warehouse, dir) {
  const www = join(dir, 'www');
  execFileSync(bin, ['--quiet', 'export', '--warehouse', warehouse, ...distArgs,
    '--out', join(www, 'heymax'), '--base-path', '/heymax/'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const child = spawn('python3', ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', www],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => { log += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the static server did not start:\n${log}`)), 30000);
    child.stdout.on('data', (d) => {
      const m = /port (\d+)/.exec(String(d));
      if (m) {
        clearTimeout(timer);
        resolve({ url: `http://127.0.0.1:${m[1]}/heymax/`, stop: () => child.kill('SIGTERM'), log: () => log });
      }
    });
    child.on('exit', (code) => reject(new Error(`the static server exited (${code}):\n${log}`)));
  });
}

export async function launch() {
  return chromium.launch({ executablePath: chromiumPath, args: flags, headless: true });
}

/**
 * A new page that records problems: console errors, page errors, HTTP >= 400, failed
 * requests (but those the browser itself aborted), and any request outside `origin` + `base`.
 */
export async function openPage(browser, { origin, base = '/' }) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // net::ERR_ABORTED is the browser cancelling its own request (a reload while the favicon
  // loads); a server's failure shows as another error or as an HTTP status below.
  page.on('requestfailed', (r) => {
    const error = r.failure()?.errorText ?? '';
    if (error !== 'net::ERR_ABORTED') problems.push(`request failed: ${r.url()} ${error}`);
  });
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  page.on('request', (r) => {
    const url = r.url();
    if (url.startsWith('data:') || url.startsWith('blob:')) return;
    if (!url.startsWith(origin + base)) problems.push(`request outside the site: ${url}`);
  });
  return { page, problems, close: () => context.close() };
}

/**
 * Waits until the page is hydrated and every chart on it is drawn. A page with charts must
 * show at least one: while it renders afresh or waits for its marts it has none yet, and
 * "every chart of none" would pass too early (seen once Plotly.js loaded faster).
 */
export async function waitForCharts(page, timeout = 20000) {
  await page.waitForFunction(() => {
    const plots = [...document.querySelectorAll('.plot')];
    const charted = /\/(growth|retention|interactions|explore)\/$/.test(location.pathname);
    return window.Plotly && document.documentElement.dataset.heymax
      && (!charted || plots.length > 0)
      && plots.every((p) => p.classList.contains('js-plotly-plot') && p._fullLayout);
  }, null, { timeout });
}

/** Moves the mouse over `period` (a date on the x axis) in the middle of chart `id`. */
export async function hoverAt(page, id, x) {
  const point = await page.evaluate(([id, x]) => {
    const gd = document.getElementById(id);
    const xa = gd._fullLayout.xaxis;
    const ya = gd._fullLayout.yaxis;
    const box = gd.getBoundingClientRect();
    return { x: box.left + xa._offset + xa.l2p(xa.d2l(x)), y: box.top + ya._offset + ya._length * 0.5 };
  }, [id, x]);
  // Leave the plot first so the previous tooltip is gone, then hover the new point.
  await page.mouse.move(1, 1);
  await page.waitForSelector('.hoverlayer .legend', { state: 'detached', timeout: 5000 });
  await page.mouse.move(point.x, point.y);
  await page.waitForSelector('.hoverlayer .legend', { timeout: 5000 });
  return page.evaluate(() => {
    const legend = document.querySelector('.hoverlayer .legend');
    const title = legend.querySelector('.legendtitletext')?.textContent ?? '';
    const items = [...legend.querySelectorAll('.legendtext')].map((t) => t.textContent);
    return { title, items };
  });
}

/** `12345` -> `12,345`, as the dashboard formats counts. */
export const count = (n) => Math.round(n).toLocaleString('en-US');

export function cleanup(dir) {
  rmSync(dir, { recursive: true, force: true });
}

export const exported = process.env.HEYMAX_E2E_SITE === 'exported';

/**
 * The items of a list in a page's URL (`countries=SG,a~2Cb`), as the app writes them
 * (app/src/state.rs `list_value`: every byte outside `[A-Za-z0-9._-]` as `~XX`).
 */
export const listItems = (value) => (value ?? '').split(',').filter((s) => s)
  .map((item) => decodeURIComponent(item.replace(/~([0-9A-F]{2})/g, '%$1')));

/**
 * Registers before/after hooks that build a warehouse from the sample (or from `csv`, the
 * text of an event file), serve it and launch Chromium; returns the live handles (filled
 * in once `before` has run).
 */
export function sampleSite(csv) {
  const site = {
    url: '',
    browser: null,
    /** A page on this site that records problems (see `openPage`). */
    open: () => openPage(site.browser, { origin: new URL(site.url).origin, base: new URL(site.url).pathname }),
    /** A page's URL as the dashboard links it (`growth` -> `<base>growth/`), with a query. */
    page: (path, query = '') => `${site.url}${path}${path ? '/' : ''}${query ? `?${query}` : ''}`,
    /** A mart's rows, as the browser fetches them. */
    mart: async (name) => (await fetch(`${site.url}data/marts/${name}.json`)).json(),
  };
  let wh, server;
  before(async () => {
    if (csv === undefined) {
      wh = buildWarehouse();
    } else {
      const input = mkdtempSync(join(tmpdir(), 'heymax-events-'));
      writeFileSync(join(input, 'events.csv'), csv);
      // The fixture's names must reach the pages as they are: no trimming or upper-casing.
      writeFileSync(join(input, 'heymax.toml'), '[values]\ntrim = false\ncountry = "as_is"\n');
      try {
        wh = buildWarehouse(join(input, 'events.csv'));
      } finally {
        cleanup(input);
      }
    }
    server = exported ? await startStaticSite(wh.warehouse, wh.dir) : await startServer(wh.warehouse);
    site.url = server.url;
    site.browser = await launch();
  });
  after(async () => {
    await site.browser?.close();
    server?.stop();
    if (wh) cleanup(wh.dir);
  });
  return site;
}

/**
 * Clicks the middle of bar segment `trace` at period `x` of stacked bar chart `id` (hovering
 * first, as a user does, so Plotly knows the point under the pointer).
 */
export async function clickBar(page, id, trace, x) {
  const point = await page.evaluate(([id, trace, x]) => {
    const gd = document.getElementById(id);
    const xa = gd._fullLayout.xaxis;
    const ya = gd._fullLayout.yaxis;
    const box = gd.getBoundingClientRect();
    // Relative bar mode: positive segments stack upward in trace order, negative downward.
    let below = 0;
    let middle = 0;
    for (const t of gd.data.filter((t) => t.type === 'bar')) {
      const v = t.y[t.x.indexOf(x)] ?? 0;
      const start = v < 0 ? 0 : below;
      if (t.name === trace) { middle = start + v / 2; break; }
      if (v > 0) below += v;
    }
    gd.scrollIntoView({ block: 'center' });
    const top = gd.getBoundingClientRect().top;
    return { x: box.left + xa._offset + xa.l2p(xa.d2l(x)), y: top + ya._offset + ya.l2p(middle) };
  }, [id, trace, x]);
  await page.mouse.move(point.x, point.y);
  await page.waitForSelector('.hoverlayer .legend', { timeout: 5000 });
  await page.mouse.click(point.x, point.y);
}

/** Drags across chart `id` from date `from` to date `to` (a brush on the x axis). */
export async function brush(page, id, from, to) {
  const line = await page.evaluate(([id, from, to]) => {
    const gd = document.getElementById(id);
    gd.scrollIntoView({ block: 'center' });
    const xa = gd._fullLayout.xaxis;
    const ya = gd._fullLayout.yaxis;
    const box = gd.getBoundingClientRect();
    const px = (d) => box.left + xa._offset + xa.l2p(xa.d2l(d));
    return { x0: px(from), x1: px(to), y: box.top + ya._offset + ya._length * 0.3 };
  }, [id, from, to]);
  await page.mouse.move(line.x0, line.y);
  await page.mouse.down();
  await page.mouse.move((line.x0 + line.x1) / 2, line.y, { steps: 5 });
  await page.mouse.move(line.x1, line.y, { steps: 5 });
  await page.mouse.up();
}
