// The example in docs/rules-format.md must stay a file that imports.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRulesFile } from '../src/rules/file-format';

it('docs/rules-format.md example imports', () => {
  const doc = readFileSync(join(__dirname, '../../docs/rules-format.md'), 'utf8');
  const example = /```json\n([\s\S]*?)\n```/.exec(doc)![1]!;
  const result = parseRulesFile(example);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  expect(result.value.rules.map((r) => r.selector)).toEqual([
    { direction: 'inbound', protocol: 'tcp', localPort: 80 },
    { direction: 'outbound', protocol: 'tcp', remoteAddress: 'mail.example.com', remotePort: 25 },
  ]);
  expect(result.value.rules[0]!.id).toBe('5b0c1f8e-3f1a-4d8e-9a57-1b2f0c9d6e21');
  expect(result.value.rules[1]!.id).toMatch(/^[0-9a-f-]{36}$/);
});
