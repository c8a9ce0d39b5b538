import type { ForwardAs, Rule, Selector } from '@/api/types';

type Ends = Pick<Selector, 'localPort' | 'remotePort' | 'localAddress' | 'remoteAddress' | 'localMac' | 'remoteMac'>;

function end(side: 'local' | 'remote', ends: Ends): string | null {
  const port = side === 'local' ? ends.localPort : ends.remotePort;
  const address = side === 'local' ? ends.localAddress : ends.remoteAddress;
  const mac = side === 'local' ? ends.localMac : ends.remoteMac;
  if (port === undefined && address === undefined && mac === undefined) return null;
  const host = address === undefined ? '' : address.includes(':') && port !== undefined ? `[${address}]` : address;
  const endpoint = `${host}${port === undefined ? '' : `:${port}`}`;
  return [side, endpoint, mac === undefined ? '' : `(${mac})`].filter(Boolean).join(' ');
}

function selectorText(s: Selector): string {
  const parts = [`${s.direction} ${s.protocol.toUpperCase()}`, end('local', s), end('remote', s)];
  if (s.adapter !== undefined) parts.push(`on ${s.adapter}`);
  return parts.filter(Boolean).join(' ');
}

function forwardText(f: ForwardAs): string {
  const parts = [end('local', f), end('remote', f)];
  if (f.adapter !== undefined) parts.push(`via ${f.adapter}`);
  if (f.reflection && f.reflection !== 'none') parts.push(`${f.reflection} reflection`);
  if (f.clone) parts.push('as a clone');
  const text = parts.filter(Boolean).join(' ');
  return text || 'unchanged (monitor only)';
}

/** One line: "inbound TCP local :80 → local :8080". */
export function summarizeRule(rule: Pick<Rule, 'selector' | 'forwardAs'>): string {
  return `${selectorText(rule.selector)} → ${forwardText(rule.forwardAs)}`;
}
