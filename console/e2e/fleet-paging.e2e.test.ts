/**
 * The Agents page over a fleet larger than one page, through a real browser against the real
 * controller: it shows one keyset page at a time (Next / Previous, the page in the URL so a reload
 * stays on it), filters on the controller (a group whose agents are not on the first page, a
 * search, drift), takes its counts and menus from the summary, and never asks for the whole fleet
 * or every rule's activity.
 *
 * Needs `npm run build -w console` first and /usr/bin/chromium. 130 agents are written straight
 * into the controller's database: the page, not enrollment, is under test.
 */
import type { Page } from 'playwright-core';
import type { Stack } from '../../test/support/stack';
import { eventually, screenshot } from './browser';
import { signIn, startConsoleRun, type ConsoleRun } from './console-run';

jest.setTimeout(180_000);

const FLEET = 130;
const name = (i: number) => `host-${String(i).padStart(3, '0')}`;
let run: ConsoleRun;
let stack: Stack;
let page: Page;

beforeAll(async () => {
  run = await startConsoleRun({
    stack: { sharedDatabase: true },
    context: { viewport: { width: 1280, height: 860 } },
    seed: async (db) => {
      const ruleSet = (await db.query(`SELECT id::text AS id FROM rule_sets LIMIT 1`)).rows[0].id as string;
      // Enrolled a second apart, in name order; the last ten in group "tail"; host-110 drifting.
      await db.query(
        `INSERT INTO agents (id, name, hostname, platform, version, credential_hash, groups, labels, desired_rule_set_id, desired_version,
                             applied_rule_set_id, applied_version, created_at)
         SELECT gen_random_uuid(), 'host-' || lpad(i::text, 3, '0'), 'h' || i || '.lan', 'linux', '1.0.0', 'x',
                CASE WHEN i >= 120 THEN ARRAY['tail'] ELSE ARRAY['fleet'] END, ARRAY['rack:' || (i / 50)],
                CASE WHEN i = 110 THEN $1::uuid END, CASE WHEN i = 110 THEN 2 END, CASE WHEN i = 110 THEN $1::uuid END, CASE WHEN i = 110 THEN 1 END,
                timestamptz '2030-01-01T00:00:00Z' + i * interval '1 second'
           FROM generate_series(0, $2 - 1) i`,
        [ruleSet, FLEET],
      );
      await db.query(
        `INSERT INTO activity_stored_buckets (agent_id, rule_id, bucket_start, packets_in, bytes_in, packets_out, bytes_out, conversations, last_hit_at)
         SELECT id, 'r1', '2030-01-01T00:00:00Z', 7, 700, 5, 500, 1, NULL FROM agents WHERE name = 'host-060'`,
      );
    },
  });
  ({ stack, page } = run);
}, 240_000);

afterAll(() => run?.stop(), 60_000);

const step = (label: string, body: () => Promise<void>) => run.step(label, body);

const names = () => page.locator('table[aria-label="Agents"] tbody tr[data-agent-id] td:first-child').allInnerTexts();
/** The shown names once the first one is `first` (a page turn keeps the old rows until the new arrive). */
const pageStarting = (first: string) => eventually(names, (n) => n[0] === first);
const range = () => page.getByTestId('fleet-range').innerText();
const button = (label: string) => page.getByRole('button', { name: label, exact: true });
const seq = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => name(from + k));

test('pages through the fleet with keyset cursors; the page survives a reload; counts come from the summary', () =>
  step('paging', async () => {
    await signIn(page, stack);

    expect(await pageStarting(name(0))).toEqual(seq(0, 49));
    await page.getByText(`${FLEET} enrolled · 0 online`).waitFor();
    expect(await range()).toBe('1–50 of 130 · page 1 of 3');
    expect(await button('Previous').isDisabled()).toBe(true);

    await button('Next').click();
    expect(await pageStarting(name(50))).toEqual(seq(50, 99));
    expect(page.url()).toMatch(/\?cursor=[\w-]+&prev=$/);
    // Activity is asked for the visible agents only, and host-060's shows.
    const row60 = page.locator('tbody tr[data-agent-id]', { hasText: name(60) });
    expect(await eventually(() => row60.getByTestId('agent-activity').innerText(), (t) => t.includes('pkts'))).toContain('12 pkts');
    await screenshot(page, '20-agents-page-2');

    await page.reload();
    expect(await pageStarting(name(50))).toEqual(seq(50, 99));
    expect(await range()).toBe('51–100 of 130 · page 2 of 3');

    // A change elsewhere (the API, another operator) shows live on this page, which stays this page.
    const api = await stack.login();
    const id = await row60.getAttribute('data-agent-id');
    expect((await api.request('PATCH', `/api/agents/${id}`, { groups: ['renamed-live'] })).status).toBe(200);
    await eventually(() => row60.getByTestId('agent-tags').innerText(), (t) => t.includes('renamed-live'), 10_000);
    expect(await names()).toEqual(seq(50, 99));
    expect(page.url()).toMatch(/\?cursor=[\w-]+&prev=$/);

    await button('Next').click();
    expect(await pageStarting(name(100))).toEqual(seq(100, 129));
    expect(await button('Next').isDisabled()).toBe(true);
    await button('Previous').click();
    expect(await pageStarting(name(50))).toEqual(seq(50, 99));
    // The browser's Back goes back a page too.
    await page.goBack();
    expect(await pageStarting(name(100))).toEqual(seq(100, 129));
    await button('Previous').click();
    await pageStarting(name(50));
    await button('Previous').click();
    expect(await pageStarting(name(0))).toEqual(seq(0, 49));
    expect(page.url()).toMatch(/\/agents$/);
  }));

test('filters on the controller: a group only later pages hold, a search, drift; the URL keeps them', () =>
  step('filters', async () => {
    // "tail" is in the menu though none of its agents is on the first page: the menu is the summary's.
    await page.getByLabel('Group').selectOption('tail');
    expect(await pageStarting(name(120))).toEqual(seq(120, 129));
    expect(await range()).toBe('1–10 of 10 · page 1 of 1');
    expect(page.url()).toMatch(/\?group=tail$/);
    await page.reload();
    expect(await pageStarting(name(120))).toEqual(seq(120, 129));

    // The shown rows stay until the next page arrives: wait for the expected ones.
    const shows = async (expected: string[]) => expect(await eventually(names, (n) => n.join() === expected.join(), 10_000)).toEqual(expected);
    await page.getByLabel('Group').selectOption('');
    await page.getByLabel('Search agents').fill('HOST-07');
    await shows(seq(70, 79));
    await page.getByLabel('Search agents').fill('rack:2');
    await shows(seq(100, 129));
    await page.getByLabel('Search agents').fill('');
    // The box shows the filter in the URL, so it ticks once the navigation lands, not on the click
    // itself (Playwright's check() reads it at once and failed under load).
    await page.getByLabel('Drift only').click();
    await eventually(() => page.getByLabel('Drift only').isChecked(), (checked) => checked, 10_000);
    await shows([name(110)]);
    expect(page.url()).toMatch(/\?drift=true$/);
    await page.getByLabel('Status').selectOption('online');
    await page.getByRole('heading', { name: 'No agent matches' }).waitFor();
    await button('Clear filters').click();
    expect(await pageStarting(name(0))).toEqual(seq(0, 49));

    // Smaller pages: four of them hold the same fleet.
    await page.getByLabel('Agents per page').selectOption('25');
    await eventually(range, (t) => t === '1–25 of 130 · page 1 of 6');

    // A link naming a cursor the controller cannot read: its reason, and a way back to the first page.
    await page.goto(`${stack.consoleUrl}/agents?cursor=bogus&prev=`);
    await page.getByRole('alert').filter({ hasText: /cursor/i }).waitFor();
    await button('First page').click();
    expect(await pageStarting(name(0))).toEqual(seq(0, 49));
  }));

test('never loads the whole fleet or every rule\'s activity', () => {
  const apiPaths = run.requested.map((u) => new URL(u));
  const lists = apiPaths.filter((u) => u.pathname === '/api/agents');
  expect(lists.length).toBeGreaterThan(0);
  expect(lists.every((u) => ['25', '50', '100'].includes(u.searchParams.get('limit') ?? ''))).toBe(true);
  expect(apiPaths.filter((u) => u.pathname === '/api/activity')).toEqual([]);
  expect(apiPaths.filter((u) => u.pathname === '/api/activity/agents').every((u) => u.searchParams.get('agentIds')!.split(',').length <= 100)).toBe(true);
});
