import type { Locator, Page } from 'playwright-core';

/** What to fill into the rule form; endpoint fields are checked and typed, absent ones left off. */
export interface RuleInput {
  description?: string;
  direction?: 'inbound' | 'outbound';
  protocol?: 'tcp' | 'udp';
  selector?: Partial<Record<'Local port' | 'Remote port' | 'Local address' | 'Remote address' | 'Local MAC' | 'Remote MAC' | 'Adapter', string>>;
  forwardAs?: Partial<Record<'Local port' | 'Remote port' | 'Local address' | 'Remote address' | 'Local MAC' | 'Remote MAC' | 'Adapter', string>>;
  reflection?: 'none' | 'mirror' | 'route';
  clone?: boolean;
}

export async function fillRuleForm(form: Locator, rule: RuleInput): Promise<void> {
  if (rule.description !== undefined) await form.getByLabel('Description').fill(rule.description);
  const selector = form.getByRole('group', { name: 'Traffic selector' });
  const forward = form.getByRole('group', { name: 'Forward as' });
  if (rule.direction) await selector.getByLabel('Direction').selectOption(rule.direction);
  if (rule.protocol) await selector.getByLabel('Protocol').selectOption(rule.protocol);
  for (const [section, fields] of [[selector, rule.selector], [forward, rule.forwardAs]] as const) {
    for (const [label, value] of Object.entries(fields ?? {})) {
      await section.getByLabel(label, { exact: true }).check();
      await section.getByLabel(`${label} value`).fill(value);
    }
  }
  if (rule.reflection) await forward.getByLabel('Reflection').selectOption(rule.reflection);
  if (rule.clone) await forward.getByLabel(/^Clone/).check();
}

/** Adds a rule through the form and waits until the list shows it. */
export async function addRule(page: Page, rule: RuleInput): Promise<void> {
  await page.getByRole('button', { name: /^Add (the first )?rule$/ }).first().click();
  const form = page.getByRole('form', { name: 'New rule' });
  await fillRuleForm(form, rule);
  await form.getByRole('button', { name: 'Save rule' }).click();
  await form.waitFor({ state: 'detached' });
}

export const ruleRows = (page: Page) => page.locator('ol[aria-label="Rules"] > li');

export async function shownVersion(page: Page): Promise<number> {
  return Number((await page.getByTestId('rule-set-version').innerText()).replace(/\D/g, ''));
}
