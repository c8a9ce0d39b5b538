/**
 * Agent ↔ controller transport security end to end (issue 7, docs/security.md): the real controller
 * (built output, TLS on with PORTFLEET_GRPC_INSECURE=0) and the agent's TLS identity module over real
 * sockets. Enrollment pins the CA by fingerprint and signs a CSR into a certificate bound to the agent
 * id; Connect takes only a valid, unrevoked certificate of the agent the bearer credential names;
 * rotation through Enroll with the agent's own credential; retirement revokes every certificate.
 * Needs `npm run build` first.
 */
import 'reflect-metadata';
import { X509Certificate, webcrypto } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as x509 from '@peculiar/x509';
import { AgentServiceClient, type ControllerMessage, type EnrollRequest, type EnrollResponse } from '@portfleet/proto/gen/agent';
import {
  type AgentTlsFiles,
  caFingerprint,
  checkIssued,
  enrollChannelCredentials,
  fetchPinnedCa,
  needsRenewal,
  newKeyAndCsr,
  tlsChannelCredentials,
} from '../../agent/src/control/tls/agent-identity';
import { renewIfDue } from '../../agent/src/control/tls/renewal';
import type { ApiSession } from '../support/api';
import { startStack, type Stack } from '../support/stack';

let stack: Stack;
let admin: ApiSession;
let caPem: string;

beforeAll(async () => {
  stack = await startStack({ tls: true });
  admin = await stack.login();
  caPem = readFileSync(join(stack.dataDir, 'controller', 'tls', 'ca.pem'), 'utf8');
});
afterAll(async () => {
  await stack?.stop();
});

async function enrollmentToken(): Promise<string> {
  const res = await admin.post('/api/enrollment-tokens', {});
  expect(res.status).toBe(201);
  return res.body.token;
}

function client(credentials: grpc.ChannelCredentials): AgentServiceClient {
  // The certificate names 127.0.0.1 and localhost; the target is an IP, so the SAN check is on the IP.
  return new AgentServiceClient(stack.grpcAddress, credentials);
}

function enrollCall(c: AgentServiceClient, request: Partial<EnrollRequest>): Promise<EnrollResponse> {
  const full: EnrollRequest = { token: '', hostname: 'h', platform: 'linux', version: '0.0.0', ...request };
  return new Promise((resolve, reject) => c.enroll(full, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res!))));
}

interface Enrolled extends AgentTlsFiles {
  agentId: string;
  bearer: string;
}

async function enrollAgent(name: string): Promise<Enrolled> {
  const { keyPem, csrPem } = await newKeyAndCsr(name);
  const pinned = await fetchPinnedCa(stack.grpcAddress, caFingerprint(caPem));
  const res = await enrollCall(client(enrollChannelCredentials(pinned)), { token: await enrollmentToken(), hostname: name, csrPem });
  const files = { keyPem, certificatePem: res.clientCertificatePem!, caPem: res.caCertificatePem! };
  checkIssued(files, res.agentId);
  return { ...files, agentId: res.agentId, bearer: `${res.agentId}.${res.credential}` };
}

/** Opens Connect, says hello, and resolves with the first answer or the error that ended the stream. */
function connect(credentials: grpc.ChannelCredentials, bearer: string): Promise<{ welcome?: ControllerMessage; error?: grpc.ServiceError }> {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${bearer}`);
  const call = client(credentials).connect(metadata);
  return new Promise((resolve) => {
    call.on('data', (m: ControllerMessage) => {
      call.cancel();
      resolve({ welcome: m });
    });
    call.on('error', (error: grpc.ServiceError) => resolve({ error }));
    call.write({ body: { $case: 'hello', value: { hostname: 'h', platform: 'linux', version: '0.0.0', adapters: [], dataplane: undefined, appliedRuleSetId: '', appliedVersion: 0, appliedContentHash: '' } } });
  });
}

async function foreignCertificate(agentId: string, keyPem: string): Promise<string> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const caKeys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const key = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(keyPem), alg, true, ['sign']);
  const jwk = await webcrypto.subtle.exportKey('jwk', key);
  const publicKey = await webcrypto.subtle.importKey('jwk', { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, alg, true, ['verify']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '0badc0de',
    subject: `CN=${agentId}`,
    issuer: 'CN=Impostor CA',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: alg,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `urn:portfleet:agent:${agentId}` }])],
  });
  return cert.toString('pem');
}

describe('agent ↔ controller TLS', () => {
  it('keeps the CA key and the certificate registry 0600 in a 0700 folder', async () => {
    await enrollAgent('perms');
    const dir = join(stack.dataDir, 'controller', 'tls');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'ca-key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'issued.json')).mode & 0o777).toBe(0o600);
  });

  it('serves no plaintext, and a client pinning another CA sends nothing', async () => {
    const token = await enrollmentToken();
    await expect(enrollCall(client(grpc.credentials.createInsecure()), { token })).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    await expect(fetchPinnedCa(stack.grpcAddress, '00'.repeat(32))).rejects.toThrow(/does not present the CA with fingerprint/);
    // Trusting some other CA: the handshake fails before any request.
    const other = await foreignCertificate('x', (await newKeyAndCsr('x')).keyPem);
    await expect(enrollCall(client(enrollChannelCredentials(other)), { token })).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    // The token was never seen by the controller: it still enrolls.
    const { csrPem } = await newKeyAndCsr('late');
    const pinned = await fetchPinnedCa(stack.grpcAddress, caFingerprint(caPem));
    expect(pinned.trim()).toBe(caPem.trim());
    await expect(enrollCall(client(enrollChannelCredentials(pinned)), { token, hostname: 'late', csrPem })).resolves.toMatchObject({ agentId: expect.any(String) });
  });

  it('refuses an enrollment without a valid CSR, naming csr_pem, and leaves the token unused', async () => {
    const token = await enrollmentToken();
    const tls = client(enrollChannelCredentials(caPem));
    await expect(enrollCall(tls, { token })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining('csr_pem') });
    await expect(enrollCall(tls, { token, csrPem: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----' })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('csr_pem'),
    });
    const { csrPem } = await newKeyAndCsr('ok');
    await expect(enrollCall(tls, { token, hostname: 'ok', csrPem })).resolves.toMatchObject({ clientCertificatePem: expect.stringContaining('BEGIN CERTIFICATE') });
  });

  it('binds the certificate to the agent id, 30 days, client auth only', async () => {
    const a = await enrollAgent('binding');
    const cert = new X509Certificate(a.certificatePem);
    expect(cert.subject).toBe(`CN=${a.agentId}`);
    expect(cert.subjectAltName).toBe(`URI:urn:portfleet:agent:${a.agentId}`);
    expect(cert.checkIssued(new X509Certificate(caPem))).toBe(true);
    const days = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000;
    expect(Math.round(days)).toBe(30);
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(needsRenewal(a.certificatePem)).toBe(false);
    expect(needsRenewal(a.certificatePem, new Date(Date.parse(cert.validTo) - 9 * 86_400_000))).toBe(true);
  });

  it('Connect: only the agent itself, with its own unrevoked certificate', async () => {
    const a = await enrollAgent('alpha');
    const b = await enrollAgent('beta');
    const ok = await connect(tlsChannelCredentials(a), a.bearer);
    expect(ok.welcome?.body?.$case).toBe('welcome');

    const asB = await connect(tlsChannelCredentials(a), b.bearer); // A's certificate, B's credential
    expect(asB.error).toMatchObject({ code: grpc.status.UNAUTHENTICATED, details: expect.stringContaining('client_certificate') });
    expect(asB.error?.details).toContain('another agent');

    const noCert = await connect(grpc.credentials.createSsl(Buffer.from(caPem)), a.bearer);
    expect(noCert.error).toMatchObject({ code: grpc.status.UNAUTHENTICATED, details: expect.stringContaining('client_certificate') });

    const impostor = await connect(tlsChannelCredentials({ ...a, certificatePem: await foreignCertificate(a.agentId, a.keyPem) }), a.bearer);
    // Depending on the TLS stack the impostor certificate is not sent at all or is refused: never accepted.
    expect(impostor.error).toMatchObject({ code: grpc.status.UNAUTHENTICATED, details: expect.stringMatching(/client_certificate: (a client certificate from enrollment is required|the client certificate was not issued by this controller)/) });
  });

  it('renews through Enroll with its own credential and certificate, never with another agent’s', async () => {
    const a = await enrollAgent('renewing');
    const b = await enrollAgent('other');
    const next = await newKeyAndCsr('renewing');
    const renewed = await enrollCall(client(tlsChannelCredentials(a)), { token: a.bearer, csrPem: next.csrPem });
    expect(renewed).toMatchObject({ agentId: a.agentId, credential: '' });
    const files = { keyPem: next.keyPem, certificatePem: renewed.clientCertificatePem!, caPem };
    checkIssued(files, a.agentId);
    expect(new X509Certificate(files.certificatePem).serialNumber).not.toBe(new X509Certificate(a.certificatePem).serialNumber);
    expect((await connect(tlsChannelCredentials(files), a.bearer)).welcome?.body?.$case).toBe('welcome');

    // B's certificate cannot renew A, nor can a renewal come without a certificate.
    await expect(enrollCall(client(tlsChannelCredentials(b)), { token: a.bearer, csrPem: next.csrPem })).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    await expect(enrollCall(client(grpc.credentials.createSsl(Buffer.from(caPem))), { token: a.bearer, csrPem: next.csrPem })).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
    });
  });

  it('the enrollment command the console shows pins the CA', async () => {
    const res = await admin.post('/api/enrollment-tokens', {});
    expect(res.body.command).toBe(`portfleet-agent enroll --controller ${stack.grpcAddress} --token ${res.body.token} --ca-sha256 ${caFingerprint(caPem)}`);
  });

  it('the real agent CLI enrolls with --ca-sha256 and runs over mutual TLS', async () => {
    const agent = await stack.startAgent({ name: 'cli-agent' });
    expect(agent.id).toMatch(/\S/);
    for (const file of ['agent-key.pem', 'agent-cert.pem', 'controller-ca.pem']) {
      expect([file, statSync(join(agent.stateDir, file)).mode & 0o777]).toEqual([file, 0o600]);
    }
    const cert = new X509Certificate(readFileSync(join(agent.stateDir, 'agent-cert.pem')));
    expect(cert.subjectAltName).toBe(`URI:urn:portfleet:agent:${agent.id}`);
    expect(stack.controller.tail(400)).toMatch(new RegExp(`"agentId":"${agent.id}"[^\n]*agent connected`));
    await agent.stop();

    // Rotation as `run` does it at start, 21 days on (a third of 30 left): a new key and serial,
    // and the agent reconnects with them.
    const credential = JSON.parse(readFileSync(join(agent.stateDir, 'credential.json'), 'utf8'));
    expect(await renewIfDue(agent.stateDir, credential, 'cli-agent')).toMatchObject({ renewed: false });
    const later = new Date(Date.now() + 21 * 86_400_000);
    expect(await renewIfDue(agent.stateDir, credential, 'cli-agent', later)).toMatchObject({ renewed: true });
    const renewed = new X509Certificate(readFileSync(join(agent.stateDir, 'agent-cert.pem')));
    expect(renewed.serialNumber).not.toBe(cert.serialNumber);
    expect(renewed.subjectAltName).toBe(cert.subjectAltName);
    await agent.restart();
    expect(agent.id).toMatch(/\S/);
    await agent.stop();
  });

  it('retiring an agent revokes its certificates and ends its access', async () => {
    const a = await enrollAgent('retiring');
    expect((await connect(tlsChannelCredentials(a), a.bearer)).welcome).toBeDefined();
    const retired = await admin.post(`/api/agents/${a.agentId}/retire`, {});
    expect(retired.status).toBe(200);
    const serial = new X509Certificate(a.certificatePem).serialNumber;
    await waitFor(() => {
      const issued = JSON.parse(readFileSync(join(stack.dataDir, 'controller', 'tls', 'issued.json'), 'utf8')) as { serial: string; revokedAt?: string }[];
      return issued.find((c) => c.serial === serial)?.revokedAt !== undefined;
    });
    expect((await connect(tlsChannelCredentials(a), a.bearer)).error).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
  });
});

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}
