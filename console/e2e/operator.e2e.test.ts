/**
 * The operator's day through a real browser: Debian chromium drives the built console (`next
 * start`) against the real controller on embedded PostgreSQL and real agent processes. Enroll a
 * host with the command the console shows, tag and filter the fleet, build rule sets (every field
 * type, shadowing, keyboard and drag reorder, history), hit the Trial's rule limit, push to a group
 * of two agents in waves and watch both apply live, see packets as activity, roll back, import a
 * file with errors, activate a serial key, and read the audit log. Screenshots of every main page
 * land in artifacts/screenshots/.
 *
 * Needs `npm run build` first (the harness builds nothing) and /usr/bin/chromium (`.ci/run`
 * installs the Debian package).
 */
import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { TapClient } from '../../agent/src/divert/tap-client';
import { PacketFlag } from '../../agent/src/engine/batch';
import { ipv4Packet } from '../../agent/test/support/packets';
import { generateLicenseKeyPair, issueLicenseKey } from '../../proto/src/editions/license';
import type { AgentHandle, Stack } from '../../test/support/stack';
import { eventually, screenshot } from './browser';
import { startConsoleRun, type ConsoleRun } from './console-run';
import { addRule, fillRuleForm, ruleRows, shownVersion } from './rule-form';

jest.setTimeout(180_000);

const vendor = generateLicenseKeyPair();
let run: ConsoleRun;
let stack: Stack;
const agents: AgentHandle[] = [];
let browser: Browser;
let context: BrowserContext;
let page: Page;
let consoleUrl: string;

beforeAll(async () => {
  run = await startConsoleRun({
    stack: { controllerEnv: { PORTFLEET_LICENSE_PUBLIC_KEY: vendor.publicKeyPem } },
    context: { viewport: { width: 1280, height: 860 }, acceptDownloads: true },
  });
  ({ stack, browser, context, page } = run);
  consoleUrl = stack.consoleUrl!;
}, 240_000);

afterAll(() => run?.stop(), 60_000);

/** On failure, keep what the browser showed and the tail of every process's output. */
const step = (name: string, body: () => Promise<void>) => run.step(name, body, [stack.controller, ...agents.map((a) => a.service)]);

const nav = (name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
const agentRow = (name: string) => page.locator('table[aria-label="Agents"] tbody tr[data-agent-id]', { hasText: name });
let navigations = 0;

test('an unauthenticated visit lands on the login page, and a wrong password is refused', () =>
  step('login-page', async () => {
    await page.goto(`${consoleUrl}/agents`);
    await page.waitForURL(/\/login\?next=%2Fagents$/);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong username or password' }).waitFor();
    await screenshot(page, '01-login');
  }));

test('a host enrolled with the command the console shows appears online without a reload', () =>
  step('enroll', async () => {
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(stack.adminPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/agents$/);
    await page.getByRole('heading', { name: 'No agents yet' }).waitFor();
    await page.locator('[data-testid="live-status"][data-connected="true"]').waitFor();
    // The Trial runs from the first start and carries the watermark.
    expect(await page.getByTestId('watermark').innerText()).toMatch(/Trial edition — 30 days left/);

    await page.getByRole('button', { name: 'Create enrollment token' }).click();
    const command = await page.getByTestId('enroll-command').innerText();
    expect(command).toMatch(new RegExp(`^portfleet-agent enroll --controller ${stack.grpcAddress.replace(/\./g, '\\.')} --token \\S+$`));
    await screenshot(page, '02-enroll-command');

    page.on('framenavigated', (frame) => { if (frame === page.mainFrame()) navigations += 1; });
    const token = /--token (\S+)/.exec(command)![1]!;
    agents.push(await stack.startAgent({ name: 'web-1', token }));
    // The event stream brings the new agent; nothing reloads the page.
    await agentRow('web-1').locator('.badge', { hasText: /^online$/ }).waitFor({ timeout: 15_000 });
    expect(navigations).toBe(0);
    expect(await agentRow('web-1').getByTestId('applied-version').innerText()).toBe('— / —');
    expect(await agentRow('web-1').getByTestId('agent-edition').innerText()).toMatch(/trial/i);
  }));

test('the fleet is tagged with groups and labels, then searched and filtered', () =>
  step('fleet', async () => {
    agents.push(await stack.startAgent({ name: 'web-2' }));
    agents.push(await stack.startAgent({ name: 'db-1' }));
    await agentRow('db-1').locator('.badge', { hasText: /^online$/ }).waitFor();

    const tag = async (name: string, groups: string, labels: string) => {
      await page.getByRole('button', { name: `Edit tags of ${name}` }).click();
      const form = page.getByRole('form', { name: `Edit ${name}` });
      await form.getByLabel('Groups').fill(groups);
      await form.getByLabel('Labels').fill(labels);
      await form.getByRole('button', { name: 'Save' }).click();
      await form.waitFor({ state: 'detached' });
      await eventually(() => agentRow(name).getByTestId('agent-tags').innerText(), (t) => t.includes(groups.split(',')[0]!.trim()));
    };
    await tag('web-1', 'web', 'env:prod');
    await tag('web-2', 'web, edge', 'env:test');
    await tag('db-1', 'db', 'env:prod');

    const names = () => page.locator('table[aria-label="Agents"] tbody tr[data-agent-id] td:first-child').allInnerTexts();
    await page.getByLabel('Search agents').fill('WEB-2');
    expect(await eventually(names, (n) => n.length === 1)).toEqual(['web-2']);
    await page.getByLabel('Search agents').fill('');
    await page.getByLabel('Group').selectOption('web');
    expect((await eventually(names, (n) => n.length === 2)).sort()).toEqual(['web-1', 'web-2']);
    await page.getByLabel('Label').selectOption('env:prod');
    expect(await eventually(names, (n) => n.length === 1)).toEqual(['web-1']);
    await page.getByLabel('Status').selectOption('offline');
    await page.getByRole('heading', { name: 'No agent matches' }).waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).click();
    expect((await eventually(names, (n) => n.length === 3)).sort()).toEqual(['db-1', 'web-1', 'web-2']);
    await screenshot(page, '03-agents');
  }));

test('a rule set holds every field type; the Trial limit of 3 rules is shown with its reason', () =>
  step('every-field', async () => {
    await nav('Rules');
    await page.getByTestId('rule-set-version').waitFor();
    await page.getByRole('button', { name: 'New rule set' }).click();
    await page.getByLabel('Rule set name').fill('lab');
    await page.getByRole('form', { name: 'New rule set' }).getByRole('button', { name: 'Create' }).click();
    await page.getByTestId('rule-set-name').filter({ hasText: /^lab$/ }).waitFor();
    await page.getByRole('heading', { name: 'No rules yet' }).waitFor();
    expect(await page.getByLabel('Rule set', { exact: true }).locator('option:checked').innerText()).toMatch(/^lab/);

    await addRule(page, {
      description: 'every selector field', direction: 'outbound', protocol: 'udp',
      selector: {
        'Local port': '5353', 'Remote port': '53', 'Local address': '192.0.2.10', 'Remote address': 'dns.example.com',
        'Local MAC': '02:00:00:00:00:01', 'Remote MAC': '02:00:00:00:00:02', Adapter: 'lo',
      },
      forwardAs: { 'Remote address': '198.51.100.53', 'Remote port': '5300' },
    });
    await addRule(page, {
      description: 'every forward-as field', direction: 'inbound', protocol: 'tcp', selector: { 'Local port': '80' },
      forwardAs: {
        'Local port': '8080', 'Remote port': '40000', 'Local address': '192.0.2.50', 'Remote address': '198.51.100.9',
        'Local MAC': '02:00:00:00:00:03', 'Remote MAC': '02:00:00:00:00:04', Adapter: '1',
      },
      reflection: 'mirror', clone: true,
    });
    await addRule(page, { description: 'route reflection', protocol: 'tcp', selector: { 'Local port': '443', 'Remote address': '2001:db8::443' }, reflection: 'route' });

    const rows = ruleRows(page);
    expect(await rows.count()).toBe(3);
    expect(await rows.nth(0).innerText()).toContain(
      'outbound UDP local 192.0.2.10:5353 (02:00:00:00:00:01) remote dns.example.com:53 (02:00:00:00:00:02) on lo → remote 198.51.100.53:5300');
    expect(await rows.nth(1).innerText()).toContain(
      'inbound TCP local :80 → local 192.0.2.50:8080 (02:00:00:00:00:03) remote 198.51.100.9:40000 (02:00:00:00:00:04) via 1 mirror reflection as a clone');
    expect(await rows.nth(2).innerText()).toContain('inbound TCP local :443 remote 2001:db8::443 → route reflection');

    // Three rules is all the Trial allows: adding is off, and the page says why.
    expect(await page.getByRole('button', { name: 'Add rule' }).isDisabled()).toBe(true);
    expect(await page.getByTestId('rule-limit').innerText()).toContain('The Trial edition allows 3 rules per host');
    await screenshot(page, '04-rules-every-field');

    // The controller enforces the same limit on a file: its reason is shown too.
    const file = {
      format: 'portfleet-rules', version: 1,
      rules: [80, 81, 82, 83].map((port) => ({ selector: { direction: 'inbound', protocol: 'tcp', localPort: port }, forwardAs: { localPort: port + 8000 } })),
    };
    await page.getByLabel('Import rules file').setInputFiles({ name: 'four.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(file)) });
    const alert = page.getByRole('alert').filter({ hasText: /allows 3 rules/ });
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(/Trial edition allows 3 rules per host/);
    expect(await rows.count()).toBe(3);
  }));

test('shadowed rules are named from 1; the list reorders by keyboard and by drag', () =>
  step('shadowing', async () => {
    const picker = page.getByLabel('Rule set', { exact: true });
    const id = await picker.locator('option', { hasText: /^default/ }).getAttribute('value');
    await picker.selectOption(id!);
    await page.waitForURL(new RegExp(`/rules/${id}$`));
    await page.getByTestId('rule-set-name').filter({ hasText: /^default$/ }).waitFor();
    await page.getByRole('heading', { name: 'No rules yet' }).waitFor();
    await addRule(page, { description: 'Web server on 8080', selector: { 'Local port': '80' }, forwardAs: { 'Local port': '8080' } });
    await addRule(page, { description: 'Port 80 elsewhere', selector: { 'Local port': '80' }, forwardAs: { 'Local port': '9090' } });
    const row = (title: string) => page.locator(`ol[aria-label="Rules"] > li[aria-label="${title}"]`);
    const note = row('Port 80 elsewhere').getByRole('note');
    await note.waitFor();
    expect(await note.innerText()).toContain('never matches: rule 1 (Web server on 8080) comes first');
    await screenshot(page, '05-rules-shadowed');

    // Keyboard: focus the second rule's handle and press the up arrow.
    const start = await shownVersion(page);
    await page.getByRole('button', { name: 'Reorder Port 80 elsewhere' }).focus();
    await page.keyboard.press('ArrowUp');
    await eventually(() => ruleRows(page).allInnerTexts(), (t) => t[0]!.includes('Port 80 elsewhere'));
    expect(await eventually(() => row('Web server on 8080').getByRole('note').innerText(), (t) => t.includes('rule 1 (Port 80 elsewhere)'))).toBeTruthy();
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Reorder Port 80 elsewhere');

    // Drag: the web server rule back to the top.
    await eventually(() => shownVersion(page), (v) => v === start + 1);
    await row('Web server on 8080').dragTo(row('Port 80 elsewhere'));
    await eventually(() => ruleRows(page).allInnerTexts(), (t) => t[0]!.includes('Web server on 8080'));
    expect(await eventually(() => shownVersion(page), (v) => v === start + 2)).toBe(start + 2);

    await row('Port 80 elsewhere').getByRole('button', { name: 'Delete' }).click();
    await row('Port 80 elsewhere').getByRole('button', { name: 'Confirm delete' }).click();
    await row('Port 80 elsewhere').waitFor({ state: 'detached' });
    expect(await eventually(() => shownVersion(page), (v) => v === start + 3)).toBe(start + 3);
  }));

test('the version history shows what changed between two versions', () =>
  step('history', async () => {
    const latest = await shownVersion(page);
    await page.getByRole('button', { name: 'History' }).click();
    const history = page.getByRole('region', { name: 'Version history' });
    await history.getByRole('table', { name: 'Versions' }).locator('tbody tr').first().waitFor();
    expect(await history.getByRole('table', { name: 'Versions' }).locator('tbody tr').count()).toBe(latest);
    // latest-1 → latest removed the shadowed rule
    const diff = page.getByTestId('version-diff');
    expect(await eventually(() => diff.innerText(), (t) => t.includes('removed'))).toMatch(/rule 2 removed: Port 80 elsewhere/);
    // From the empty first version everything is new.
    await history.getByLabel('From v1').check();
    const fromFirst = await eventually(() => diff.innerText(), (t) => t.includes(`v1 → v${latest}`) && t.includes('added'));
    expect(fromFirst).toMatch(/rule 1 added: Web server on 8080/);
    expect(fromFirst).not.toContain('Port 80 elsewhere');
    await screenshot(page, '06-rules-history');
    await page.getByRole('button', { name: 'History' }).click();
  }));

let pushedVersion = 0;

test('a push to the group "web" is previewed, rolled out in waves and applied by both agents live', () =>
  step('push', async () => {
    pushedVersion = await shownVersion(page);
    await page.getByRole('link', { name: `Push version ${pushedVersion}` }).click();
    await page.waitForURL(/\/pushes\/new\?ruleSet=/);
    expect(await page.getByTestId('push-version').innerText()).toBe(`v${pushedVersion}`);
    await page.getByLabel('Push to group web').check();

    await page.getByRole('button', { name: 'Preview changes' }).click();
    const preview = page.getByTestId('dry-run-agent');
    await preview.first().waitFor();
    expect(await preview.count()).toBe(2);
    for (const name of ['web-1', 'web-2']) {
      const text = await preview.filter({ hasText: name }).innerText();
      expect(text).toContain('runs nothing yet');
      expect(text).toMatch(/rule 1 added: Web server on 8080/);
    }
    await page.getByLabel(/^Staged rollout/).check();
    await page.getByLabel('Waves (cumulative %)').fill('50, 100');
    await screenshot(page, '07-push-preview');

    await page.getByRole('button', { name: `Push v${pushedVersion}` }).click();
    await page.waitForURL(/\/pushes\/[^/]+$/);
    await page.getByTestId('push-finished').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('count-applied').innerText()).toBe('2');
    expect(await page.getByTestId('count-total').innerText()).toBe('2');
    expect(await page.getByTestId('rollout').innerText()).toContain('waves 50% → 100%');
    const states = await page.locator('table[aria-label="Push targets"] [data-push-state]').evaluateAll((els) => els.map((e) => e.getAttribute('data-push-state')));
    expect(states).toEqual(['applied', 'applied']);
    await screenshot(page, '08-push-progress');
  }));

test('the fleet shows the applied versions in sync, and packets show up as activity with charts', () =>
  step('activity', async () => {
    await nav('Agents');
    for (const name of ['web-1', 'web-2']) {
      await eventually(() => agentRow(name).getByTestId('applied-version').innerText(), (t) => t === `v${pushedVersion} / v${pushedVersion}`);
      await agentRow(name).locator('.badge', { hasText: 'in sync' }).waitFor();
    }
    expect(await agentRow('db-1').getByTestId('applied-version').innerText()).toBe('— / —');

    const web1 = agents[0]!;
    await web1.service.waitFor(new RegExp(`PORTFLEET_AGENT_APPLIED version=${pushedVersion}\\b`), 10_000);
    const tap = await TapClient.connect(web1.tap);
    try {
      await tap.send(ipv4Packet({ src: '198.51.100.7', dst: '192.0.2.1', sport: 40000, dport: 80, protocol: 'tcp' }), 0, 2);
      await tap.send(ipv4Packet({ src: '192.0.2.1', dst: '198.51.100.7', sport: 8080, dport: 40000, protocol: 'tcp' }), PacketFlag.Outbound, 2);
    } finally {
      tap.close();
    }
    expect(await eventually(() => agentRow('web-1').getByTestId('agent-activity').innerText(), (t) => t.includes('2 pkts'))).toContain('80 B');
    await screenshot(page, '09-agents-applied');

    await agentRow('web-1').getByRole('link').first().click();
    await page.waitForURL(new RegExp(`/agents/${web1.id}$`));
    const charts = page.getByTestId('rule-charts').filter({ hasText: 'Web server on 8080' });
    expect(Number(await eventually(() => charts.getByTestId('chart-packets').getAttribute('data-total'), (t) => t === '2'))).toBe(2);
    expect(await charts.getByTestId('chart-bytes').getAttribute('data-total')).toBe('80');
    const history = page.getByRole('table', { name: 'Push history' });
    expect(await history.locator('tbody tr').first().innerText()).toMatch(new RegExp(`default v${pushedVersion}\\s+applied`));
    await screenshot(page, '10-agent');
  }));

test('a push is rolled back to the previous version and both agents apply it', () =>
  step('rollback', async () => {
    await nav('Rules');
    await page.getByTestId('rule-set-version').waitFor();
    const row = ruleRows(page).filter({ hasText: 'Web server on 8080' });
    await row.getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('form', { name: 'Edit rule 1' });
    await fillRuleForm(edit, { forwardAs: { 'Local port': '8081' } });
    await edit.getByRole('button', { name: 'Save rule' }).click();
    await edit.waitFor({ state: 'detached' });
    const next = await shownVersion(page);
    expect(next).toBe(pushedVersion + 1);

    await page.getByRole('link', { name: `Push version ${next}` }).click();
    await page.getByLabel('Push to group web').check();
    await page.getByRole('button', { name: `Push v${next}` }).click();
    await page.waitForURL(/\/pushes\/[^/]+$/);
    await page.getByTestId('push-finished').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('count-applied').innerText()).toBe('2');

    await page.getByRole('button', { name: `Roll back to v${pushedVersion}` }).click();
    await page.getByRole('heading', { name: `Push of default v${pushedVersion}` }).waitFor();
    await page.getByTestId('push-finished').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('count-applied').innerText()).toBe('2');
    await screenshot(page, '11-push-rollback');

    await nav('Pushes');
    const list = page.getByRole('table', { name: 'Pushes' }).locator('tbody tr');
    await list.first().waitFor();
    expect(await list.count()).toBe(3);
    expect(await list.first().innerText()).toMatch(new RegExp(`default v${pushedVersion}\\s*rollback`));
    await screenshot(page, '12-pushes');

    await nav('Agents');
    for (const name of ['web-1', 'web-2']) {
      await eventually(() => agentRow(name).getByTestId('applied-version').innerText(), (t) => t === `v${pushedVersion} / v${pushedVersion}`);
    }
  }));

test('a push the agent cannot apply fails, and the progress view gives the agent\'s reason', () =>
  step('push-failed', async () => {
    await nav('Rules');
    await page.getByTestId('rule-set-version').waitFor();
    await page.getByRole('button', { name: 'New rule set' }).click();
    await page.getByLabel('Rule set name').fill('broken');
    await page.getByRole('form', { name: 'New rule set' }).getByRole('button', { name: 'Create' }).click();
    await page.getByTestId('rule-set-name').filter({ hasText: /^broken$/ }).waitFor();
    // The adapter inputs suggest the names the fleet reported (one request, not every agent page).
    await page.getByRole('button', { name: /^Add (the first )?rule$/ }).first().click();
    const options = page.getByRole('form', { name: 'New rule' }).getByRole('group', { name: 'Traffic selector' }).locator('[data-field="adapter"] datalist option');
    const suggested = await eventually(() => options.evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value)), (names) => names.length > 0);
    const reported = (await page.evaluate(async () => (await fetch('/api/agents/adapter-names')).json())) as { names: string[] };
    expect(suggested).toEqual(reported.names);
    await page.getByRole('form', { name: 'New rule' }).getByRole('button', { name: 'Cancel' }).click();
    await addRule(page, { description: 'on a missing adapter', selector: { 'Local port': '8443', Adapter: 'nope0' } });

    await page.getByRole('link', { name: /^Push version/ }).click();
    await page.getByLabel('Push to db-1').check();
    await page.getByRole('button', { name: /^Push v/ }).click();
    await page.waitForURL(/\/pushes\/[^/]+$/);
    await page.getByTestId('push-finished').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('count-failed').innerText()).toBe('1');
    const target = page.locator('table[aria-label="Push targets"] tbody tr', { hasText: 'db-1' });
    expect(await target.locator('[data-push-state]').getAttribute('data-push-state')).toBe('failed');
    expect(await target.innerText()).toMatch(/rule 1 · selector\.adapter: this host has no adapter "nope0"/);
    await page.getByRole('button', { name: 'Retry failed' }).waitFor();
    await screenshot(page, '13-push-failed');

    // In waves, the failing first wave halts the rollout; aborting cancels the wave still waiting.
    await page.getByRole('link', { name: '← Pushes' }).click();
    await page.getByRole('link', { name: 'New push' }).click();
    const ruleSet = page.getByLabel('Rule set', { exact: true });
    await ruleSet.selectOption(await ruleSet.locator('option', { hasText: 'broken' }).getAttribute('value') ?? '');
    await page.getByLabel('Push to web-1').check();
    await page.getByLabel('Push to web-2').check();
    await page.getByLabel(/^Staged rollout/).check();
    await page.getByLabel('Waves (cumulative %)').fill('50, 100');
    await page.getByRole('button', { name: /^Push v/ }).click();
    await page.waitForURL(/\/pushes\/[^/]+$/);
    await page.locator('[data-push-status="halted"]').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('count-failed').innerText()).toBe('1');
    expect(await page.getByTestId('count-waiting').innerText()).toBe('1');
    await page.getByRole('button', { name: 'Resume' }).waitFor();
    await screenshot(page, '13-push-halted');
    await page.getByRole('button', { name: 'Abort' }).click();
    await page.locator('[data-push-status="aborted"]').waitFor();
    expect(await page.getByTestId('count-cancelled').innerText()).toBe('1');
  }));

test('importing a file with errors lists every error and changes nothing; export gives the rules file', () =>
  step('import', async () => {
    await nav('Rules');
    await page.getByTestId('rule-set-version').waitFor();
    const before = await shownVersion(page);
    const file = {
      format: 'portfleet-rules', version: 1,
      rules: [
        { selector: { direction: 'inbound', protocol: 'tcp', localPort: 70000 }, forwardAs: {} },
        { selector: { direction: 'inbound', protocol: 'tcp', localPort: 22 }, forwardAs: { remoteAddress: 'not an address!' } },
        { selector: { direction: 'sideways', protocol: 'tcp' }, forwardAs: {} },
      ],
    };
    await page.getByLabel('Import rules file').setInputFiles({ name: 'bad.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(file)) });
    const errors = page.getByTestId('import-errors');
    await errors.waitFor();
    const items = await errors.locator('li').allInnerTexts();
    expect(items.length).toBeGreaterThanOrEqual(3);
    expect(items.some((t) => /^Rule 1 · selector\.localPort: /.test(t))).toBe(true);
    expect(items.some((t) => /^Rule 2 · forwardAs\.remoteAddress: /.test(t))).toBe(true);
    expect(items.some((t) => /^Rule 3 · selector\.direction: /.test(t))).toBe(true);
    expect(await shownVersion(page)).toBe(before);
    await screenshot(page, '14-import-errors');

    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export' }).click();
    const saved = await (await download).path();
    const exported = JSON.parse(readFileSync(saved, 'utf8'));
    expect(exported.format).toBe('portfleet-rules');
    expect(exported.rules.map((r: { description?: string }) => r.description)).toEqual(['Web server on 8080']);
  }));

test('activating a Pro serial key drops the watermark and gates MAC and adapter fields with the reason', () =>
  step('license', async () => {
    await nav('License');
    expect(await page.getByTestId('license-edition').innerText()).toBe('Trial');
    expect(await page.getByTestId('trial-days-left').innerText()).toBe('30');
    await page.getByLabel('Serial key', { exact: true }).fill('PF1-not-a-key');
    await page.getByRole('button', { name: 'Activate' }).click();
    // The refusal names the field (Next's route announcer is an alert too: filter on the text).
    await page.getByRole('alert').filter({ hasText: 'licenseKey: must be PF1-' }).waitFor();

    const key = issueLicenseKey({
      serial: 'E2E-PRO-1', edition: 'pro', seats: 5, issuedTo: 'Console e2e', issuedAtMs: Date.now() - 1000, expiresAtMs: null,
    }, vendor.privateKeyPem);
    await page.getByLabel('Serial key', { exact: true }).fill(key);
    await page.getByRole('button', { name: 'Activate' }).click();
    await eventually(() => page.getByTestId('license-edition').innerText(), (t) => t === 'Pro');
    expect(await page.getByTestId('license-seats').innerText()).toBe('3 / 5');
    await page.getByTestId('watermark').waitFor({ state: 'detached' });
    await screenshot(page, '14-license');

    await nav('Rules');
    await page.getByRole('button', { name: 'Add rule' }).click();
    const form = page.getByRole('form', { name: 'New rule' });
    const selector = form.getByRole('group', { name: 'Traffic selector' });
    expect(await selector.getByLabel('Local MAC', { exact: true }).isDisabled()).toBe(true);
    expect(await selector.getByLabel('Adapter', { exact: true }).isDisabled()).toBe(true);
    expect(await selector.getByLabel('Local address', { exact: true }).isDisabled()).toBe(false);
    const reason = await selector.locator('[data-field="localMac"] [data-testid="gate-reason"]').innerText();
    expect(reason).toContain('MAC address select/rewrite: not included in the Pro edition (available in Ultimate)');
    expect(await form.getByRole('group', { name: 'Forward as' }).getByLabel(/^Clone/).isDisabled()).toBe(true);
    await screenshot(page, '15-rule-form-gated');
    await form.getByRole('button', { name: 'Cancel' }).click();

    // Pushing the lab set (MACs, adapters, cloning) to a Pro agent is refused, with the reason.
    await nav('Pushes');
    await page.getByRole('link', { name: 'New push' }).click();
    const ruleSet = page.getByLabel('Rule set', { exact: true });
    await ruleSet.selectOption(await ruleSet.locator('option', { hasText: 'lab' }).getAttribute('value') ?? '');
    await page.getByLabel('Push to web-1').check();
    await page.getByRole('button', { name: /^Push v/ }).click();
    const refusal = page.getByRole('alert').filter({ hasText: /not included in the Pro edition/ });
    await refusal.waitFor();
    expect(await refusal.innerText()).toMatch(/MAC address select\/rewrite|adapter select\/rewrite|cloning/);
    expect(page.url()).toMatch(/\/pushes\/new$/);
  }));

test('the audit log lists the changes, and API tokens are shown once and revoked', () =>
  step('audit-tokens', async () => {
    await nav('Audit log');
    const audit = page.getByRole('table', { name: 'Audit log' });
    await audit.locator('tbody tr').first().waitFor();
    const text = await audit.innerText();
    for (const action of ['push.create', 'license.activate', 'session.create']) expect(text).toContain(action);
    await screenshot(page, '16-audit');

    await nav('API tokens');
    await page.getByRole('heading', { name: 'No API tokens' }).waitFor();
    await page.getByLabel('Name').fill('ci-deploy');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = await page.getByTestId('new-token').innerText();
    expect(secret).toMatch(/^pft_/);
    const ok = await fetch(`${stack.httpUrl}/api/agents`, { headers: { authorization: `Bearer ${secret}` } });
    expect(ok.status).toBe(200);
    await screenshot(page, '17-api-tokens');
    await page.reload();
    const row = page.getByRole('table', { name: 'API tokens' }).locator('tbody tr', { hasText: 'ci-deploy' });
    await row.waitFor();
    expect(await page.getByTestId('new-token').count()).toBe(0);
    expect(await page.content()).not.toContain(secret);
    await row.getByRole('button', { name: 'Revoke ci-deploy' }).click();
    await row.locator('.badge', { hasText: 'revoked' }).waitFor();
    const refused = await fetch(`${stack.httpUrl}/api/agents`, { headers: { authorization: `Bearer ${secret}` } });
    expect(refused.status).toBe(401);
  }));

test('a viewer sees everything and can change nothing', () =>
  step('viewer', async () => {
    await nav('Users');
    const form = page.getByRole('form', { name: 'Add user' });
    await form.getByLabel('Username').fill('vera');
    await form.getByLabel('Password').fill('viewer-password-1');
    await form.getByLabel('Role').selectOption('viewer');
    await form.getByRole('button', { name: 'Add user' }).click();
    await page.getByRole('table', { name: 'Users' }).locator('tbody tr', { hasText: 'vera' }).waitFor();

    const viewerContext = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    try {
      const v = await viewerContext.newPage();
      v.setDefaultTimeout(20_000);
      await v.goto(`${consoleUrl}/login`);
      await v.getByLabel('Username').fill('vera');
      await v.getByLabel('Password').fill('viewer-password-1');
      await v.getByRole('button', { name: 'Sign in' }).click();
      await v.waitForURL(/\/agents$/);
      await v.locator('table[aria-label="Agents"] tbody tr[data-agent-id]').first().waitFor();
      expect(await v.getByRole('button', { name: /^Edit tags of/ }).count()).toBe(0);
      expect(await v.getByRole('button', { name: 'Add agent' }).count()).toBe(0);
      const links = await v.getByRole('navigation', { name: 'Main' }).getByRole('link').allInnerTexts();
      expect(links.map((l) => l.split('\n').pop()!.trim())).toEqual(expect.arrayContaining(['Agents', 'Rules', 'Pushes', 'License']));
      expect(links.join(' ')).not.toMatch(/Audit|API tokens|Users/);

      await v.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Rules' }).click();
      await v.locator('ol[aria-label="Rules"] > li').first().waitFor();
      expect(await v.getByRole('button', { name: 'Add rule' }).count()).toBe(0);
      expect(await v.getByRole('button', { name: 'Edit' }).count()).toBe(0);
      expect(await v.getByRole('button', { name: /^Reorder/ }).count()).toBe(0);
      expect(await v.locator('ol[aria-label="Rules"] input[type="checkbox"]').first().isDisabled()).toBe(true);
      expect(await v.getByLabel('Import rules file').count()).toBe(0);
      await screenshot(v, '22-viewer-rules');

      await v.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Pushes' }).click();
      await v.getByRole('table', { name: 'Pushes' }).locator('tbody tr').first().waitFor();
      expect(await v.getByRole('link', { name: 'New push' }).count()).toBe(0);
      await v.getByRole('table', { name: 'Pushes' }).locator('tbody tr a').first().click();
      await v.getByTestId('push-finished').waitFor();
      expect(await v.getByRole('button', { name: /^Roll back/ }).count()).toBe(0);

      // The controller refuses a viewer's change even when the UI is bypassed.
      const refused = await v.evaluate(async () => {
        const me = await (await fetch('/api/auth/me')).json();
        const sets = await (await fetch('/api/rule-sets')).json();
        const res = await fetch(`/api/rule-sets/${sets.ruleSets[0].id}/rules`, {
          method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrfToken },
          body: JSON.stringify({ rule: { enabled: true, activityMonitoring: true, selector: { direction: 'inbound', protocol: 'tcp', localPort: 7 }, forwardAs: {} } }),
        });
        return res.status;
      });
      expect(refused).toBe(403);
    } finally {
      await viewerContext.close();
    }
  }));

test('on a phone the main pages fit the screen', () =>
  step('phone', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    try {
      await phone.addCookies(await context.cookies());
      const small = await phone.newPage();
      const pages: Array<[string, string, string]> = [
        ['/agents', '18-phone-agents', 'table[aria-label="Agents"]'],
        ['/rules', '19-phone-rules', 'ol[aria-label="Rules"]'],
        ['/pushes', '20-phone-pushes', 'table[aria-label="Pushes"]'],
        ['/licenses', '21-phone-license', '[data-testid="license-edition"]'],
      ];
      for (const [path, name, content] of pages) {
        await small.goto(`${consoleUrl}${path}`);
        await small.locator(content).first().waitFor();
        const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect(overflow).toBeLessThanOrEqual(0);
        await screenshot(small, name);
      }
    } finally {
      await phone.close();
    }
  }));

test('logging out ends the session', () =>
  step('logout', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/\/login$/);
    await page.goto(`${consoleUrl}/rules`);
    await page.waitForURL(/\/login\?next=%2Frules$/);
  }));
