/**
 * Every agent certificate the CA signed, by serial, and which are revoked. A small JSON file beside
 * the CA (0600), rewritten atomically: a controller signs a handful of certificates per agent per
 * month, so the whole list stays in memory and every connection is checked against it without I/O.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';

export interface IssuedCertificate {
  /** Upper-case hex, as node:crypto's X509Certificate.serialNumber prints it. */
  serial: string;
  agentId: string;
  notAfter: string;
  revokedAt?: string;
}

export class IssuedCertificates {
  private readonly bySerial = new Map<string, IssuedCertificate>();
  private writing: Promise<void> = Promise.resolve();

  private constructor(private readonly file: string) {}

  static async open(file: string): Promise<IssuedCertificates> {
    const registry = new IssuedCertificates(file);
    const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '[]';
      throw err;
    });
    for (const entry of JSON.parse(text) as IssuedCertificate[]) registry.bySerial.set(entry.serial.toUpperCase(), entry);
    return registry;
  }

  get(serial: string): IssuedCertificate | undefined {
    return this.bySerial.get(serial.toUpperCase());
  }

  forAgent(agentId: string): IssuedCertificate[] {
    return [...this.bySerial.values()].filter((c) => c.agentId === agentId);
  }

  async record(entry: IssuedCertificate): Promise<void> {
    this.bySerial.set(entry.serial.toUpperCase(), { ...entry, serial: entry.serial.toUpperCase() });
    await this.save();
  }

  /** Revokes every certificate of the agent (retirement); returns how many were still valid. */
  async revokeAgent(agentId: string, at = new Date()): Promise<number> {
    let revoked = 0;
    for (const entry of this.bySerial.values()) {
      if (entry.agentId !== agentId || entry.revokedAt) continue;
      entry.revokedAt = at.toISOString();
      revoked++;
    }
    if (revoked > 0) await this.save();
    return revoked;
  }

  /** Expired entries are dropped on save: a certificate past notAfter fails the TLS check anyway. */
  private save(): Promise<void> {
    const now = Date.now();
    for (const [serial, entry] of this.bySerial) if (Date.parse(entry.notAfter) < now) this.bySerial.delete(serial);
    const text = JSON.stringify([...this.bySerial.values()], null, 1);
    this.writing = this.writing.then(async () => {
      const tmp = `${this.file}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(tmp, text, { mode: 0o600 });
      await rename(tmp, this.file);
    });
    return this.writing;
  }
}
