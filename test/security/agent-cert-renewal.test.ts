/**
 * A running agent renews its client certificate when a third of its lifetime is left, without a
 * restart, and its next stream presents the new one (docs/security.md, rotation). The controller
 * signs 30-s certificates here (PORTFLEET_AGENT_CERT_LIFETIME_S; renewal falls due after ~19 s);
 * after the agent's first certificate has expired the controller is restarted, and the agent
 * reconnects: the expired certificate would be refused, so it can only have used a renewed one.
 * Needs `npm run build` first.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, type Stack } from '../support/stack';

jest.setTimeout(120_000);

const LIFETIME_S = 30;

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ tls: true, controllerEnv: { PORTFLEET_AGENT_CERT_LIFETIME_S: String(LIFETIME_S) } });
});
afterAll(async () => {
  await stack?.stop();
});

it('renews while running and reconnects with the new certificate after the old one expired', async () => {
  const agent = await stack.startAgent({ name: 'renewing' });
  const certificate = () => new X509Certificate(readFileSync(join(agent.stateDir, 'agent-cert.pem')));
  const first = certificate();
  expect(Date.parse(first.validTo) - Date.now()).toBeLessThanOrEqual(LIFETIME_S * 1000);

  await agent.service.waitFor(/"event":"tls.renewed"/, LIFETIME_S * 1000);
  const renewed = certificate();
  expect(renewed.serialNumber).not.toBe(first.serialNumber);
  expect(renewed.subjectAltName).toBe(first.subjectAltName);

  // Past the first certificate's end, a new stream must present a renewed one.
  await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(first.validTo) + 1_000 - Date.now())));
  const linesBefore = agent.service.output.length;
  await stack.restartController();
  await agent.service.waitFor(/PORTFLEET_AGENT_CONNECTED agent=/, 30_000, { fromLine: linesBefore });
  expect(Date.now()).toBeGreaterThan(Date.parse(first.validTo));
  expect(agent.service.output.slice(linesBefore).join('\n')).not.toMatch(/"event":"controller.rejected"/);
});
