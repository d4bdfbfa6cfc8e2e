// The Pipeline page: the run history and the task graph of the sample's run (`heymax run`
// records run 1 with every task succeeded), a task's details on click, the notice when no
// run is recorded, and the refresh while a run is in progress (a run in progress is played
// back by answering the page's requests with a copy of run 1, first running, then done,
// with a schedule).
// A screenshot goes to e2e/artifacts/pipeline.png (exported-pipeline.png for the static site).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { artifacts, sampleSite, exported } from './harness.mjs';

const site = sampleSite();

const json = async (path) => {
  const res = await fetch(`${site.url}${path}`);
  assert.equal(res.status, 200, path);
  return res.json();
};

/** Waits until the graph of a run is drawn (the history and the run's detail are loaded). */
const waitForGraph = (page) => page.locator('.dag-node').first().waitFor({ timeout: 20000 });

test('the server-rendered page holds the title and the placeholder the browser replaces', async () => {
  const res = await fetch(site.page('pipeline'));
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.match(html, /<title>Pipeline · heymax<\/title>/);
  assert.match(html, /<h1>Pipeline<\/h1>/);
  assert.ok(html.includes('Loading run history…'), 'the placeholder, fetched after hydration');
});

test('the sample\'s run is listed and drawn, every task succeeded, a task opens its details', async () => {
  const list = await json('data/runs.json');
  const newest = list.runs[0];
  const detail = await json(`data/runs/${newest.run_id}.json`);
  const { page, problems, close } = await site.open();
  try {
    await page.goto(site.page('pipeline'));
    await waitForGraph(page);
    assert.equal(await page.getAttribute('html', 'data-heymax'), 'hydrated', 'the HTML is hydrated, not rendered again');
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Pipeline');

    const row = page.locator(`tr[data-run-id="${newest.run_id}"]`);
    assert.equal(await page.locator('tr[data-run-id]').first().getAttribute('data-run-id'), String(newest.run_id), 'newest first');
    assert.equal(await row.locator('.badge').textContent(), 'success');
    assert.ok((await row.textContent()).includes('cli'), 'trigger');
    assert.ok(await row.evaluate((tr) => tr.classList.contains('selected')), 'the newest run is shown by default');

    const nodes = page.locator('svg.dag .dag-node');
    assert.equal(await nodes.count(), detail.tasks.length, 'one box per task');
    const states = await nodes.evaluateAll((gs) => gs.map((g) => g.getAttribute('data-state')));
    assert.deepEqual([...new Set(states)], ['success']);
    const upstream = detail.tasks.reduce((n, t) => n + t.upstream.length, 0);
    assert.equal(await page.locator('svg.dag .dag-edge').count(), upstream, 'one arrow per upstream');
    // Arrows run left to right: each upstream box ends before its task's box begins.
    const backwards = await page.evaluate(() => {
      const box = (name) => document.querySelector(`.dag-node[data-task="${name}"]`).getBoundingClientRect();
      return [...document.querySelectorAll('.dag-edge')]
        .filter((e) => box(e.dataset.from).right >= box(e.dataset.to).left)
        .map((e) => `${e.dataset.from} -> ${e.dataset.to}`);
    });
    assert.deepEqual(backwards, []);
    // Every label fits its box (widths are estimated from the text, not measured).
    const overflowing = await page.evaluate(() => [...document.querySelectorAll('.dag-node')]
      .filter((g) => [...g.querySelectorAll('text')]
        .some((t) => t.getBBox().x + t.getBBox().width > g.querySelector('rect').width.baseVal.value - 2))
      .map((g) => g.dataset.task));
    assert.deepEqual(overflowing, []);

    await page.getByRole('button', { name: /^ingest:/ }).click();
    const panel = page.locator('.task-details[data-task="ingest"]');
    await panel.waitFor();
    assert.match(await panel.getByRole('heading', { level: 2 }).textContent(), /^ingest/);
    const rows = Number(await panel.locator('[data-rows]').getAttribute('data-rows'));
    assert.ok(rows > 0, `ingest read ${rows} rows`);
    assert.equal(rows, detail.tasks.find((t) => t.task === 'ingest').rows);
    assert.ok(await page.locator('.dag-node[data-task="ingest"]').evaluate((g) => g.classList.contains('selected')));

    await page.screenshot({ path: join(artifacts, `${exported ? 'exported-' : ''}pipeline.png`), fullPage: true });
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('the Pipeline link in the top bar opens the page in place', async () => {
  const { page, problems, close } = await site.open();
  try {
    await page.goto(site.page('growth'));
    await page.evaluate(() => { window.__stillHere = true; });
    await page.getByRole('link', { name: 'Pipeline' }).click();
    await page.waitForURL(/\/pipeline\/$/);
    await waitForGraph(page);
    assert.equal(await page.evaluate(() => window.__stillHere), true);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('without a run history the page says how to record a run', async () => {
  const { page, problems, close } = await site.open();
  try {
    await page.route('**/data/runs.json', (route) => route.fulfill({ status: 404, body: 'not found' }));
    await page.goto(site.page('pipeline'));
    const notice = page.getByRole('status').filter({ hasText: 'No pipeline runs recorded yet' });
    await notice.waitFor();
    assert.match(await notice.textContent(), /heymax run --input <events.csv>.*POST \/api\/runs/);
    assert.equal(await page.locator('.dag-node').count(), 0);
    // The only problem is the 404 itself (Chromium also logs it to the console).
    assert.deepEqual(problems.filter((p) => !p.includes('404')), []);
  } finally {
    await close();
  }
});

test('a run in progress is refetched until it ends, keeping the task that is open', async () => {
  const list = await json('data/runs.json');
  const done = list.runs[0];
  const detail = await json(`data/runs/${done.run_id}.json`);
  // The same run halfway: the first tasks done, one running, the rest queued.
  const half = Math.floor(detail.tasks.length / 2);
  const runningRun = { ...done, status: 'running', ended_at: null, seconds: null, failed_task: null, error: null };
  const runningDetail = {
    run: runningRun,
    tasks: detail.tasks.map((t, i) => (i < half ? t
      : { ...t, state: i === half ? 'running' : 'queued', attempts: i === half ? 1 : 0, ended_at: null, seconds: null, rows: null })),
  };
  const runningList = {
    ...list, running: done.run_id, runs: [runningRun, ...list.runs.slice(1)],
    schedule: '0 * * * *', next_scheduled_at: '2030-01-01T09:00:00Z',
  };

  const { page, problems, close } = await site.open();
  let finished = false;
  let requests = 0;
  try {
    await page.route(/\/data\/runs(\.json|\/\d+\.json)$/, (route) => {
      requests += 1;
      if (finished) return route.continue();
      const body = route.request().url().endsWith('runs.json') ? runningList : runningDetail;
      return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(body) });
    });
    await page.goto(site.page('pipeline'));
    await page.locator(`.dag-node[data-state="running"][data-task="${detail.tasks[half].task}"]`).waitFor({ timeout: 20000 });
    assert.equal(await page.locator('.dag-node[data-state="queued"]').count(), detail.tasks.length - half - 1);
    await page.getByRole('status').filter({ hasText: 'is in progress' }).waitFor();
    assert.equal(await page.locator('.schedule').textContent(), 'Next scheduled run: 2030-01-01 09:00:00 UTC (schedule 0 * * * *).');
    await page.getByRole('button', { name: /^ingest:/ }).click();
    await page.locator('.task-details[data-task="ingest"]').waitFor();

    // Still polling: more requests arrive without any action.
    const before = requests;
    await new Promise((r) => setTimeout(r, 3500));
    assert.ok(requests >= before + 2, `refetched while running (${requests - before} requests in 3.5 s)`);

    finished = true;
    await page.waitForFunction(
      () => [...document.querySelectorAll('.dag-node')].every((g) => g.dataset.state === 'success'),
      null, { timeout: 10000 },
    );
    assert.equal(await page.locator('tr[data-run-id] .badge').first().textContent(), 'success');
    assert.equal(await page.getByText('is in progress').count(), 0);
    assert.equal(await page.locator('.task-details[data-task="ingest"]').count(), 1, 'the open task stays open');
    assert.ok(await page.locator('.dag-node[data-task="ingest"]').evaluate((g) => g.classList.contains('selected')));

    // Done: the timer stops.
    const after = requests;
    await new Promise((r) => setTimeout(r, 3500));
    assert.equal(requests, after, 'no refetch once the run has ended');
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});
