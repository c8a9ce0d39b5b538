/**
 * The push page over a push to more agents than one page, through a real browser against the real
 * controller: counts from the push summary, one keyset page of targets at a time with their agents'
 * names (Next / Previous, the page in the URL so a reload stays on it), a state filter ("failed
 * only"), live changes (an agent renamed, a retry) arriving while page 2 is shown, which stays page
 * 2; and it never asks for every target or the whole fleet.
 *
 * Needs `npm run build -w console` first and /usr/bin/chromium. The 120 agents are written straight
 * into the database (offline, with a seat); the push is made through the API, then some targets'
 * answers are written as an agent's ack would leave them: the page, not delivery, is under test.
 */
import type { Page } from 'playwright-core';
import type { Stack } from '../../test/support/stack';
import { eventually, screenshot } from './browser';
import { signIn, startConsoleRun, type ConsoleRun } from './console-run';

jest.setTimeout(180_000);

const TARGETS = 120;
/** Positions in the page order (agent id order) of the targets that failed; 55 and 60 are on page 2. */
const FAILED = [55, 60, 105];
const APPLIED_BELOW = 40;
const reason = { field: 'selector.adapter', code: 'NO_ADAPTER', message: 'this host has no adapter "nope0"', ruleIndex: 0, ruleId: null };

let run: ConsoleRun;
let stack: Stack;
let page: Page;
let pushId: string;
/** Target names in agent id order: the order of the pages. */
let ordered: string[];
let hostOf: Map<string, string>;

beforeAll(async () => {
  run = await startConsoleRun({
    stack: { sharedDatabase: true },
    context: { viewport: { width: 1280, height: 900 } },
    seed: async (db, started) => {
      await db.query(
        `INSERT INTO agents (id, name, hostname, platform, version, credential_hash, edition, created_at)
         SELECT gen_random_uuid(), 'target-' || lpad(i::text, 3, '0'), 't' || i || '.lan', 'linux', '1.0.0', 'x', 'trial',
                timestamptz '2030-01-01T00:00:00Z' + i * interval '1 second'
           FROM generate_series(0, $1 - 1) i`,
        [TARGETS],
      );
      const ids = (await db.query(`SELECT id::text AS id FROM agents WHERE name LIKE 'target-%'`)).rows.map((r) => r.id as string);
      const ruleSetId = (await db.query(`SELECT id::text AS id FROM rule_sets LIMIT 1`)).rows[0].id as string;
      const api = await started.login();
      const created = await api.post('/api/pushes', { ruleSetId, agentIds: ids });
      expect(created.status).toBe(201);
      pushId = (created.body as { id: string }).id;
      const rows = (await db.query(
        `SELECT a.name, a.hostname, t.agent_id::text AS id FROM push_targets t JOIN agents a ON a.id = t.agent_id WHERE t.push_id = $1 ORDER BY t.agent_id`, [pushId],
      )).rows as { name: string; hostname: string; id: string }[];
      ordered = rows.map((r) => r.name);
      hostOf = new Map(rows.map((r) => [r.name, r.hostname]));
      const at = (positions: number[]) => positions.map((p) => rows[p]!.id);
      await db.query(`UPDATE push_targets SET state = 'applied', finished_at = now() WHERE push_id = $1 AND agent_id = ANY($2::uuid[])`,
        [pushId, at(Array.from({ length: APPLIED_BELOW }, (_, i) => i))]);
      await db.query(`UPDATE push_targets SET state = 'failed', errors = $3, finished_at = now() WHERE push_id = $1 AND agent_id = ANY($2::uuid[])`,
        [pushId, at(FAILED), JSON.stringify([reason])]);
    },
  });
  ({ stack, page } = run);
}, 240_000);

afterAll(() => run?.stop(), 60_000);

const step = (label: string, body: () => Promise<void>) => run.step(label, body);

const rows = () => page.locator('table[aria-label="Push targets"] tbody tr[data-agent-id]');
const names = () => rows().locator('td:first-child a').allInnerTexts();
const pageStarting = (first: string) => eventually(names, (n) => n[0] === first);
const range = () => page.getByTestId('targets-range').innerText();
const count = (state: string) => page.getByTestId(`count-${state}`).innerText();
const button = (label: string) => page.getByRole('button', { name: label, exact: true });
const row = (name: string) => rows().filter({ hasText: name });
const stateOf = (name: string) => row(name).locator('[data-push-state]').getAttribute('data-push-state');

test('pages the targets with keyset cursors, counts from the summary; the page survives a reload', () =>
  step('push-paging', async () => {
    await signIn(page, stack);
    run.requested.length = 0; // what the push page asks from here on

    await page.goto(`${stack.consoleUrl}/pushes/${pushId}`);
    expect(await pageStarting(ordered[0]!)).toEqual(ordered.slice(0, 50));
    expect([await count('applied'), await count('failed'), await count('pending'), await count('total')]).toEqual(['40', '3', '77', '120']);
    expect(await range()).toBe('1–50 of 120 · page 1 of 3');
    expect(await button('Previous').isDisabled()).toBe(true);
    expect(await row(ordered[0]!).innerText()).toContain(hostOf.get(ordered[0]!)); // joined on the controller
    expect(await row(ordered[0]!).getByTestId('target-presence').innerText()).toBe('offline');

    await button('Next').click();
    expect(await pageStarting(ordered[50]!)).toEqual(ordered.slice(50, 100));
    expect(page.url()).toMatch(/\?cursor=[\w-]+&prev=$/);
    expect(await stateOf(ordered[55]!)).toBe('failed');
    expect(await row(ordered[55]!).innerText()).toContain('rule 1 · selector.adapter: this host has no adapter "nope0"');
    await page.reload();
    expect(await pageStarting(ordered[50]!)).toEqual(ordered.slice(50, 100));
    expect(await range()).toBe('51–100 of 120 · page 2 of 3');
    await screenshot(page, '30-push-page-2');

    await button('Next').click();
    expect(await pageStarting(ordered[100]!)).toEqual(ordered.slice(100));
    expect(await button('Next').isDisabled()).toBe(true);
    await page.goBack();
    expect(await pageStarting(ordered[50]!)).toEqual(ordered.slice(50, 100));
  }));

test('live changes made elsewhere show on page 2, which stays page 2', () =>
  step('push-live', async () => {
    const api = await stack.login();
    const renamed = ordered[70]!;
    const id = await row(renamed).getAttribute('data-agent-id');
    expect((await api.request('PATCH', `/api/agents/${id}`, { name: 'renamed-live' })).status).toBe(200);
    await eventually(names, (n) => n[20] === 'renamed-live', 10_000);
    ordered[70] = 'renamed-live';

    // Another operator retries the failed targets: page 2's become pending, the counts follow.
    expect((await api.post(`/api/pushes/${pushId}/retry`)).status).toBe(200);
    await eventually(() => stateOf(ordered[55]!), (s) => s === 'pending', 10_000);
    expect(await stateOf(ordered[60]!)).toBe('pending');
    await eventually(() => count('failed'), (c) => c === '0', 10_000);
    expect(await count('pending')).toBe('80');
    expect(await names()).toEqual(ordered.slice(50, 100));
    expect(page.url()).toMatch(/\?cursor=[\w-]+&prev=$/);
  }));

test('filters by state on the controller, the filter and page in the URL', () =>
  step('push-filter', async () => {
    await page.getByLabel('Target state').selectOption('applied');
    expect(await pageStarting(ordered[0]!)).toEqual(ordered.slice(0, 40));
    expect(await range()).toBe('1–40 of 40 · page 1 of 1');
    expect(page.url()).toMatch(/\?state=applied$/);

    // Not finished, 25 a page: the pending targets only, paged.
    await page.getByLabel('Target state').selectOption('unfinished');
    const pending = ordered.slice(APPLIED_BELOW);
    expect(await pageStarting(pending[0]!)).toEqual(pending.slice(0, 50));
    await page.getByLabel('Targets per page').selectOption('25');
    expect(await eventually(names, (n) => n.length === 25)).toEqual(pending.slice(0, 25));
    await button('Next').click();
    expect(await pageStarting(pending[25]!)).toEqual(pending.slice(25, 50));
    expect(await range()).toBe('26–50 of 80 · page 2 of 4');
    expect(page.url()).toMatch(/\?state=unfinished&limit=25&cursor=[\w-]+&prev=$/);
    await page.reload();
    expect(await pageStarting(pending[25]!)).toEqual(pending.slice(25, 50));

    // Nothing failed now: an empty view says so.
    await page.getByLabel('Target state').selectOption('failed');
    await page.getByRole('heading', { name: 'No target in this state' }).waitFor();
    expect(page.url()).toMatch(/\?state=failed&limit=25$/);
  }));

test('never asks for every target of the push or for the whole fleet', () => {
  const urls = run.requested.map((u) => new URL(u));
  expect(urls.filter((u) => u.pathname === `/api/pushes/${pushId}`)).toEqual([]);
  expect(urls.filter((u) => u.pathname.startsWith('/api/agents'))).toEqual([]);
  const pages = urls.filter((u) => u.pathname === `/api/pushes/${pushId}/targets`);
  expect(pages.length).toBeGreaterThan(0);
  expect(pages.every((u) => ['25', '50', '100'].includes(u.searchParams.get('limit') ?? ''))).toBe(true);
  expect(urls.filter((u) => u.pathname === `/api/pushes/${pushId}/summary`).length).toBeGreaterThan(0);
});

test('the new-push picker pages and searches the fleet on the controller; the selection outlives the page', () =>
  step('push-picker', async () => {
    run.requested.length = 0;
    await page.goto(`${stack.consoleUrl}/pushes/new`);
    const picks = page.locator('input[type="checkbox"][aria-label^="Push to target-"], input[type="checkbox"][aria-label="Push to renamed-live"]');
    await eventually(() => picks.count(), (n) => n === 50);
    expect(await page.getByTestId('picker-range').innerText()).toBe('page 1 of 3');
    const firstPage = await picks.evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')));
    await picks.first().check();
    await page.getByRole('navigation', { name: 'Agent pages' }).getByRole('button', { name: 'Next' }).click();
    await eventually(() => page.getByTestId('picker-range').innerText(), (t) => t === 'page 2 of 3');
    await eventually(() => picks.first().getAttribute('aria-label'), (l) => !firstPage.includes(l));
    await picks.first().check();
    expect(await page.getByTestId('picker-selected').innerText()).toBe('2 selected');

    // A search the controller answers: target-070..079 (one may have been renamed above).
    const matching = ordered.filter((n) => n.startsWith('target-07')).length;
    await page.getByLabel('Search agents to push to').fill('target-07');
    await eventually(() => picks.count(), (n) => n === matching);
    await page.getByRole('button', { name: `All ${matching} matching` }).click();
    await eventually(() => page.getByTestId('picker-selected').innerText(), (t) => t === `${matching + 2} selected`);
    await page.getByRole('button', { name: 'Push v1' }).click();
    await page.waitForURL(/\/pushes\/[^/?]+$/);
    await eventually(() => page.getByTestId('count-total').innerText(), (t) => t === String(matching + 2));

    const lists = run.requested.map((u) => new URL(u)).filter((u) => u.pathname === '/api/agents');
    expect(lists.length).toBeGreaterThan(0);
    // Pages of 50 to draw the picker; the one page of 500 only for "All matching", with the search.
    expect(lists.every((u) => u.searchParams.get('limit') === '50' || (u.searchParams.get('limit') === '500' && u.searchParams.get('search') === 'target-07'))).toBe(true);
  }));
