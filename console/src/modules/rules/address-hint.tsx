// The address module of the shared package has no Node imports, so the browser bundle takes it
// as is (the package index would drag in node:crypto and the gRPC code).
import { classifyAddress, type AddressKind } from '@portfleet/proto/rules/address';

const TEXT: Record<AddressKind, string> = {
  ipv4: 'IPv4 address',
  ipv6: 'IPv6 address',
  dns: 'DNS name (resolved when the rules are applied)',
  invalid: 'Not an IPv4 or IPv6 address or a DNS name',
};

/** Says how the typed address reads: IPv4 / IPv6 / DNS name / invalid. */
export function AddressHint({ value, id }: { value: string; id: string }) {
  if (value.trim() === '') return null;
  const kind = classifyAddress(value);
  return (
    <span id={id} className={kind === 'invalid' ? 'field-error' : 'hint'} data-address-kind={kind}>
      {TEXT[kind]}
    </span>
  );
}
