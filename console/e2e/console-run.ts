import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { Client } from 'pg';
import { startStack, type Stack, type StackOptions } from '../../test/support/stack';
import { launchChromium, screenshot } from './browser';

/** A process whose output tail a failed step appends (the controller, an agent). */
interface Tailed { name: string; tail(lines: number): string }

/** The stack with its console and one browser page on it, as every browser test starts. */
export interface ConsoleRun {
  stack: Stack;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Every `/api/` URL the page asked for, in order (a test may clear it to watch one page). */
  requested: string[];
  /** Runs a test's body; on failure keeps a screenshot and appends the page's URL and the processes' output tails. */
  step(label: string, body: () => Promise<void>, processes?: readonly Tailed[]): Promise<void>;
  stop(): Promise<void>;
}

interface Options {
  stack: StackOptions;
  context: BrowserContextOptions;
  /** Rows written straight into the controller's database before the browser opens (needs `stack.sharedDatabase`). */
  seed?: (db: Client, stack: Stack) => Promise<void>;
}

export async function startConsoleRun({ stack: stackOptions, context: contextOptions, seed }: Options): Promise<ConsoleRun> {
  const stack = await startStack({ ...stackOptions, console: true });
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  try {
    if (seed) {
      const db = new Client({ connectionString: stack.database!.url });
      await db.connect();
      try {
        await seed(db, stack);
      } finally {
        await db.end();
      }
    }
    browser = await launchChromium();
    context = await browser.newContext(contextOptions);
    page = await context.newPage();
  } catch (error) {
    // No run to stop in afterAll: stop what started here.
    await browser?.close();
    await stack.stop();
    throw error;
  }
  page.setDefaultTimeout(20_000);
  const requested: string[] = [];
  page.on('request', (r) => { if (new URL(r.url()).pathname.startsWith('/api/')) requested.push(r.url()); });
  return {
    stack, browser, context, page, requested,
    async step(label, body, processes = [stack.controller]) {
      try {
        await body();
      } catch (error) {
        await screenshot(page, `failed-${label}`).catch(() => undefined);
        const tails = processes.map((p) => `--- ${p.name}\n${p.tail(30)}`);
        (error as Error).message += `\n(page: ${page.url()})\n${tails.join('\n')}`;
        throw error;
      }
    },
    async stop() {
      await browser!.close();
      await stack.stop();
    },
  };
}

/**
 * Signs in as the admin through the login form; the console lands on the Agents page. Returns once
 * that page has shown its counts, which it draws after its last request: a test that clears
 * `requested` next sees none of the Agents page's requests.
 */
export async function signIn(page: Page, stack: Stack): Promise<void> {
  await page.goto(`${stack.consoleUrl}/login`);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(stack.adminPassword);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/agents$/);
  await page.getByText(/^[\d,]+ enrolled · [\d,]+ online$/).waitFor();
}
