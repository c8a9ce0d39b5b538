/**
 * The walking skeleton through a real browser: Debian chromium drives the built console
 * (`next start`) against the real controller on embedded PostgreSQL and a real agent process.
 * Log in, see the agent online, create a rule (with a field error on the way), push it, see the
 * agent's applied version, and see the activity of packets sent through the agent's engine. Screenshots of every main page land in artifacts/screenshots/.
 *
 * Needs `npm run build` first (the harness builds nothing) and /usr/bin/chromium (`.ci/run`
 * installs the Debian package).
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { TapClient } from '../../agent/src/divert/tap-client';
import { PacketFlag } from '../../agent/src/engine/batch';
import { ipv4Packet } from '../../agent/test/support/packets';
import { startStack, type AgentHandle, type Stack } from '../../test/support/stack';
import { eventually, launchChromium, screenshot } from './browser';

const AGENT = 'e2e-host';

// Browser steps wait up to 20 s each; a step holds several of them.
jest.setTimeout(120_000);

let stack: Stack;
let agent: AgentHandle;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let consoleUrl: string;

beforeAll(async () => {
  stack = await startStack({ console: true });
  consoleUrl = stack.consoleUrl!;
  agent = await stack.startAgent({ name: AGENT });
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  page = await context.newPage();
  page.setDefaultTimeout(20_000);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
}, 60_000);

/** On failure, keep what the browser showed and the tail of every process's output. */
async function step(name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    await screenshot(page, `failed-${name}`).catch(() => undefined);
    const tails = [stack.controller, agent?.service].filter(Boolean).map((s) => `--- ${s!.name}\n${s!.tail(30)}`);
    (error as Error).message += `\n(page: ${page.url()})\n${tails.join('\n')}`;
    throw error;
  }
}

const agentRow = () => page.locator('table[aria-label="Agents"] tbody tr', { hasText: AGENT });

test('an unauthenticated visit lands on the login page, and a wrong password is refused', () =>
  step('login-page', async () => {
    await page.goto(`${consoleUrl}/agents`);
    await page.waitForURL(/\/login\?next=%2Fagents$/);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong username or password' }).waitFor();
    await screenshot(page, '01-login');
  }));

test('logging in shows the agent online in the fleet table', () =>
  step('agents', async () => {
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(stack.adminPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/agents$/);
    await agentRow().locator('.badge', { hasText: /^online$/ }).waitFor();
    expect(await agentRow().getByTestId('applied-version').innerText()).toMatch(/^— \/ —$/);

    // A new host is enrolled with the exact command the controller made for its one-time token.
    await page.getByRole('button', { name: 'Add agent' }).click();
    const created = page.waitForResponse((r) => r.url().endsWith('/api/enrollment-tokens') && r.request().method() === 'POST');
    await page.getByRole('button', { name: 'Create enrollment token' }).click();
    const token = await (await created).json();
    expect((await created).status()).toBe(201);
    expect(token.command).toContain(token.token);
    await page.getByTestId('enroll-command').waitFor();
    expect(await page.getByTestId('enroll-command').innerText()).toBe(token.command);
    await screenshot(page, '02-agents');
  }));

let version = 0;

test('a rule is created through the form; a bad port is named next to its field', () =>
  step('rules', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Rules' }).click();
    await page.getByTestId('rule-set-version').waitFor();
    const before = Number((await page.getByTestId('rule-set-version').innerText()).replace(/\D/g, ''));

    await page.getByRole('button', { name: /^Add (the first )?rule$/ }).first().click();
    const form = page.getByRole('form', { name: 'New rule' });
    await form.getByLabel('Description').fill('Web server on 8080');
    const selector = form.getByRole('group', { name: 'Traffic selector' });
    const forward = form.getByRole('group', { name: 'Forward as' });
    await selector.getByLabel('Direction').selectOption('inbound');
    await selector.getByLabel('Protocol').selectOption('tcp');
    await selector.getByLabel('Local port', { exact: true }).check();
    await selector.getByLabel('Local port value').fill('80');

    // The address hint reads what was typed, before anything is sent.
    const remote = selector.getByLabel('Remote address value');
    expect(await remote.isDisabled()).toBe(true);
    await selector.getByLabel('Remote address', { exact: true }).check();
    const hint = selector.locator('[data-field="remoteAddress"] [data-address-kind]');
    for (const [typed, kind] of [['192.0.2.7', 'ipv4'], ['2001:db8::7', 'ipv6'], ['mail.example.com', 'dns'], ['300.1.1.1', 'invalid']]) {
      await remote.fill(typed);
      expect(await eventually(() => hint.getAttribute('data-address-kind'), (shown) => shown === kind, 5000)).toBe(kind);
    }
    await selector.getByLabel('Remote address', { exact: true }).uncheck();

    // The controller judges the rule; its error shows next to the field it names.
    await forward.getByLabel('Local port', { exact: true }).check();
    await forward.getByLabel('Local port value').fill('70000');
    await form.getByRole('button', { name: 'Save rule' }).click();
    const portError = forward.locator('[data-field="localPort"] .field-error');
    await portError.waitFor();
    expect(await portError.innerText()).toMatch(/65535/);
    expect(await selector.locator('.field-error').count()).toBe(0);
    await screenshot(page, '03-rule-form-error');

    await forward.getByLabel('Local port value').fill('8080');
    await form.getByRole('button', { name: 'Save rule' }).click();
    await form.waitFor({ state: 'detached' });

    const row = page.locator('ol[aria-label="Rules"] > li', { hasText: 'Web server on 8080' });
    await row.waitFor();
    expect(await row.innerText()).toContain('inbound TCP local :80 → local :8080');
    version = Number((await page.getByTestId('rule-set-version').innerText()).replace(/\D/g, ''));
    expect(version).toBe(before + 1); // the failed save stored nothing
    await screenshot(page, '04-rules');
  }));

test('the rule set is pushed to the agent and its progress reaches applied', () =>
  step('push', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Pushes' }).click();
    expect(await page.getByTestId('push-version').innerText()).toBe(`v${version}`);
    await page.getByLabel(`Push to ${AGENT}`).check();
    await screenshot(page, '05-push-choose');
    await page.getByRole('button', { name: `Push v${version} to 1 agent` }).click();
    await page.waitForURL(/\/pushes\/[^/]+$/);
    await page.getByTestId('push-finished').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('count-applied').innerText()).toBe('1');
    expect(await page.getByTestId('count-failed').innerText()).toBe('0');
    const target = page.locator('table[aria-label="Push targets"] tbody tr', { hasText: AGENT });
    expect(await target.locator('[data-push-state]').getAttribute('data-push-state')).toBe('applied');
    await screenshot(page, '06-push-progress');
  }));

test('the fleet table shows the applied version, in sync', () =>
  step('applied', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Agents' }).click();
    const applied = await eventually(
      () => agentRow().getByTestId('applied-version').innerText(),
      (text) => text === `v${version} / v${version}`,
    );
    expect(applied).toBe(`v${version} / v${version}`);
    await agentRow().locator('.badge', { hasText: 'in sync' }).waitFor();
    await screenshot(page, '07-agents-applied');
  }));

test('packets through the agent show up as the rule\'s activity', () =>
  step('activity', async () => {
    // A client's SYN to port 80 and the server's answer from 8080, through the agent's engine.
    await agent.service.waitFor(new RegExp(`PORTFLEET_AGENT_APPLIED version=${version}\\b`), 10_000);
    const tap = await TapClient.connect(agent.tap);
    try {
      await tap.send(ipv4Packet({ src: '198.51.100.7', dst: '192.0.2.1', sport: 40000, dport: 80, protocol: 'tcp' }), 0, 2);
      await tap.send(ipv4Packet({ src: '192.0.2.1', dst: '198.51.100.7', sport: 8080, dport: 40000, protocol: 'tcp' }), PacketFlag.Outbound, 2);
    } finally {
      tap.close();
    }
    const cell = agentRow().getByTestId('agent-activity');
    expect(await eventually(() => cell.innerText(), (text) => text.includes('2 pkts'))).toContain('80 B');

    await agentRow().getByRole('link').first().click();
    await page.waitForURL(new RegExp(`/agents/${agent.id}$`));
    await page.getByRole('heading', { name: 'Adapters' }).waitFor();
    const rule = page.locator('table[aria-label="Rule activity"] tbody tr', { hasText: 'Web server on 8080' });
    await rule.waitFor();
    const cells = await rule.locator('td.num').allInnerTexts();
    expect(cells.slice(0, 4)).toEqual(['1', '1', '40 B', '40 B']); // packets in/out, bytes in/out
    await screenshot(page, '08-agent');
  }));

test('the rule list is edited in place: shadowing, reorder, enable, edit, delete', () =>
  step('rule-list', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Rules' }).click();
    const rows = page.locator('ol[aria-label="Rules"] > li');
    const row = (text: string) => rows.filter({ hasText: text });
    const shownVersion = async () => Number((await page.getByTestId('rule-set-version').innerText()).replace(/\D/g, ''));
    await row('Web server on 8080').waitFor();
    const start = await shownVersion();

    // A second rule selecting the same traffic can never match: the controller says so.
    await page.getByRole('button', { name: 'Add rule' }).click();
    const form = page.getByRole('form', { name: 'New rule' });
    await form.getByLabel('Description').fill('Port 80 elsewhere');
    const selector = form.getByRole('group', { name: 'Traffic selector' });
    await selector.getByLabel('Local port', { exact: true }).check();
    await selector.getByLabel('Local port value').fill('80');
    await form.getByRole('button', { name: 'Save rule' }).click();
    await form.waitFor({ state: 'detached' });
    await row('Port 80 elsewhere').getByRole('note').filter({ hasText: 'never matches' }).waitFor();
    expect(await row('Web server on 8080').getByRole('note').count()).toBe(0);

    // Moving it up makes the first rule the shadowed one.
    await page.getByRole('button', { name: 'Move Port 80 elsewhere up' }).click();
    await eventually(() => rows.allInnerTexts(), (texts) => texts.length === 2 && texts[0]!.includes('Port 80 elsewhere'));
    await row('Web server on 8080').getByRole('note').waitFor();

    await page.getByRole('checkbox', { name: 'Enable Port 80 elsewhere' }).uncheck();
    await row('Port 80 elsewhere').locator('.badge', { hasText: 'disabled' }).waitFor();

    await row('Web server on 8080').getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('form', { name: 'Edit rule 2' });
    const forward = edit.getByRole('group', { name: 'Forward as' });
    expect(await edit.getByRole('group', { name: 'Traffic selector' }).getByLabel('Local port value').inputValue()).toBe('80');
    expect(await forward.getByLabel('Local port value').inputValue()).toBe('8080');
    await forward.getByLabel('Local port value').fill('8081');
    await edit.getByRole('button', { name: 'Save rule' }).click();
    await edit.waitFor({ state: 'detached' });
    expect(await row('Web server on 8080').innerText()).toContain('inbound TCP local :80 → local :8081');
    await screenshot(page, '09-rules-edited');

    await row('Port 80 elsewhere').getByRole('button', { name: 'Delete' }).click();
    await row('Port 80 elsewhere').getByRole('button', { name: 'Confirm delete' }).click();
    await row('Port 80 elsewhere').waitFor({ state: 'detached' });
    expect(await rows.count()).toBe(1);
    // add, move, disable, edit, delete: five stored versions
    expect(await eventually(shownVersion, (v) => v === start + 5)).toBe(start + 5);
  }));

test('on a phone the pages fit the screen', () =>
  step('phone', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    try {
      await phone.addCookies(await context.cookies());
      const small = await phone.newPage();
      const pages: Array<[string, string, string]> = [
        ['/agents', '10-phone-agents', 'table[aria-label="Agents"]'],
        ['/rules', '11-phone-rules', 'ol[aria-label="Rules"]'],
        ['/pushes', '12-phone-pushes', 'label:has(input[type="checkbox"])'],
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
