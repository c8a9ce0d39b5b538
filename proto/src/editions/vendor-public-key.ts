/**
 * The Portfleet vendor's public key: serial keys signed with its private half (kept offline by the
 * vendor, never in this repository) verify here. Tests and staging sign with their own pairs and
 * pass the public key in PORTFLEET_LICENSE_PUBLIC_KEY (PEM).
 */
export const VENDOR_LICENSE_PUBLIC_KEY_PEM = `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAYOlau7AXEsfQL2LazI0JqwfLeCjM1MugRd4fBIRDiag=
-----END PUBLIC KEY-----
`;

export const LICENSE_PUBLIC_KEY_ENV = 'PORTFLEET_LICENSE_PUBLIC_KEY';

/** The key serial keys are verified with: the override from the environment, else the vendor's. */
export function licensePublicKey(env: NodeJS.ProcessEnv = process.env): string {
  const override = env[LICENSE_PUBLIC_KEY_ENV]?.trim();
  return override ? `${override.replace(/\\n/g, '\n')}\n` : VENDOR_LICENSE_PUBLIC_KEY_PEM;
}
