import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { controllerTargets, enroll, EnrollError } from '../../control/client';
import { agentHostname, agentPlatform, agentVersion } from '../../control/host-info';
import { StateStore, StateFileCorruptError } from '../../control/state-store';
import { checkIssued, enrollChannelCredentials, fetchPinnedCa, newKeyAndCsr, removeTlsFiles, saveTlsFiles } from '../../control/tls/agent-identity';
import { CliError } from '../cli-error';
import { announce } from '../log';
import { stateDirOption } from '../state-dir-option';

interface EnrollOptions {
  controller: string;
  token: string;
  stateDir: string;
  controllerKey?: string;
  caSha256?: string;
  force?: boolean;
}

export function enrollCommand(program: Command): void {
  program
    .command('enroll')
    .description('enroll this host with a controller using a one-time token; stores the credential in the state folder')
    .requiredOption('--controller <host:port[,host:port…]>', 'the controller\'s gRPC address, e.g. 10.0.0.5:50051, or its replicas\' addresses comma-separated (the agent fails over between them)')
    .requiredOption('--token <token>', 'one-time enrollment token from the console or POST /api/enrollment-tokens')
    .option('--controller-key <file>', 'expected PEM public key the controller signs capability snapshots with (pins it; the controller sends its key at enrollment)')
    .option('--ca-sha256 <hex>', 'SHA-256 fingerprint of the controller CA (shown with the enrollment command): enroll over TLS and get a client certificate; without it, plaintext (controller development mode on loopback)')
    .option('--force', 'replace an existing enrollment')
    .addOption(stateDirOption())
    .action(async (options: EnrollOptions) => {
      const store = new StateStore(options.stateDir);
      await store.init();
      const existing = await store.readCredential().catch((error: unknown) => {
        if (error instanceof StateFileCorruptError) return null; // a broken credential is what --force-free re-enrollment is for
        throw error;
      });
      if (existing && !options.force) {
        throw new CliError(`already enrolled as agent ${existing.agentId} with ${existing.controller} (state folder ${store.dir}); pass --force to enroll again`);
      }
      const controllerPublicKey = options.controllerKey ? await readFile(options.controllerKey, 'utf8') : undefined;
      // Checked before the one-time token is spent.
      if (controllerPublicKey !== undefined && !isEd25519PublicKey(controllerPublicKey)) {
        throw new CliError(`--controller-key: ${options.controllerKey} is not an Ed25519 public key in PEM`);
      }
      if (options.caSha256 !== undefined && !/^(sha256:)?([0-9a-f]{2}:?){32}$/i.test(options.caSha256)) {
        throw new CliError('--ca-sha256: must be the 64 hex digits of the controller CA fingerprint');
      }
      let targets: string[];
      try {
        targets = controllerTargets(options.controller);
      } catch (error) {
        throw new CliError(`--${(error as Error).message}`);
      }
      let response;
      let tls;
      try {
        const request = { token: options.token, hostname: agentHostname(), platform: agentPlatform(), version: agentVersion() };
        if (options.caSha256 === undefined) {
          response = await enroll(options.controller, request);
        } else {
          // The CA is fetched and pinned before the token travels (docs/security.md).
          const caPem = await firstPinnedCa(targets, options.caSha256);
          const { keyPem, csrPem } = await newKeyAndCsr(request.hostname);
          response = await enroll(options.controller, { ...request, csrPem }, undefined, enrollChannelCredentials(caPem));
          tls = { keyPem, caPem, certificatePem: response.clientCertificatePem ?? '' };
          try {
            checkIssued(tls, response.agentId);
          } catch (error) {
            throw new CliError(`the controller's answer is not usable (${(error as Error).message}); nothing was stored`);
          }
        }
      } catch (error) {
        if (error instanceof EnrollError) throw new CliError(`enrollment failed: ${error.message}`);
        throw error;
      }
      const sentKey = response.capabilityPublicKeyPem?.trim();
      if (controllerPublicKey && sentKey && !samePublicKey(controllerPublicKey, sentKey)) {
        throw new CliError(`the controller signs capabilities with a different key than --controller-key ${options.controllerKey}; nothing was stored (the enrollment token is used up: ask for a new one)`);
      }
      const publicKey = sentKey || controllerPublicKey?.trim();
      if (tls) await saveTlsFiles(store.dir, tls);
      else await removeTlsFiles(store.dir);
      await store.writeCredential({
        controller: options.controller,
        agentId: response.agentId,
        credential: response.credential,
        ...(publicKey && { controllerPublicKey: `${publicKey}\n` }),
      });
      if (!publicKey) process.stderr.write('warning: the controller sent no capability key; signed capability snapshots cannot be verified on this host\n');
      process.stderr.write(`enrolled as agent ${response.agentId}; credential stored in ${store.path('credential')}\n`);
      announce(`PORTFLEET_AGENT_ENROLLED agent=${response.agentId}`);
    });
}

function samePublicKey(a: string, b: string): boolean {
  try {
    return createPublicKey(a).export({ type: 'spki', format: 'der' }).equals(createPublicKey(b).export({ type: 'spki', format: 'der' }));
  } catch {
    return false;
  }
}

function isEd25519PublicKey(pem: string): boolean {
  try {
    return createPublicKey(pem).asymmetricKeyType === 'ed25519';
  } catch {
    return false;
  }
}

/** The pinned CA from the first replica that answers the TLS handshake (all share one CA). */
async function firstPinnedCa(targets: readonly string[], caSha256: string): Promise<string> {
  const failures: string[] = [];
  for (const target of targets) {
    try {
      return await fetchPinnedCa(target, caSha256);
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  throw new CliError(`enrollment failed: ${failures.join('; ')}`);
}
