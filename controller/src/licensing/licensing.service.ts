import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { capabilitiesFor, signCapabilities, verifyLicenseKey, type Edition } from '@portfleet/proto';
import type { CapabilitySnapshot } from '@portfleet/proto/gen/rules';
import type { Actor } from '../auth/actor';
import { AuditService } from '../audit/audit.service';
import type { Config } from '../config';
import { CONFIG } from '../core.module';
import { PrismaService, type Db } from '../db/prisma.service';
import { EventBus } from '../events/event-bus';
import { keepOnce } from './controller-state';
import { licenseState, licenseView, type LicenseState, type LicenseView } from './license-state';
import { LicenseError } from './licensing.errors';

const TRIAL_STARTED_AT = 'trial_started_at';
const CAPABILITY_KEY = 'capability_signing_key';

/**
 * Trial, serial keys, seats and signed capability snapshots. Seat policy (docs/http-api.md
 * Licensing): the license's seats go to the oldest enrolled agents; the trial has no seat limit.
 */
/** What an agent's stored seat grants under `state` (nothing once the trial/license expired). */
export function seatEdition(state: LicenseState, agent: { edition: string | null }): Edition | null {
  return state.edition ? (agent.edition as Edition | null) : null;
}

@Injectable()
export class LicensingService {
  private signingKey?: KeyObject;
  private trialStartedAt?: Date;

  constructor(
    private readonly db: PrismaService,
    private readonly audit: AuditService,
    private readonly bus: EventBus,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /** First start: records the trial start and makes the capability signing key. */
  async init(): Promise<void> {
    this.trialStartedAt = new Date(await keepOnce(this.db, TRIAL_STARTED_AT, () => new Date().toISOString()));
    const pem = await keepOnce(this.db, CAPABILITY_KEY, () =>
      generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    );
    this.signingKey = createPrivateKey(pem);
    await this.reassignSeats(this.db);
  }

  capabilityPublicKeyPem(): string {
    return createPublicKey(this.key()).export({ type: 'spki', format: 'pem' }).toString();
  }

  async state(db: Db = this.db): Promise<LicenseState> {
    const license = await db.license.findFirst({ orderBy: { activatedAt: 'desc' } });
    return licenseState(this.trialStart(), license, Date.now());
  }

  async view(): Promise<LicenseView> {
    const state = await this.state();
    const seatsUsed = await this.db.agent.count({ where: { retiredAt: null, edition: { not: null } } });
    return licenseView(state, state.edition ? seatsUsed : 0, Date.now());
  }

  /** The edition rule-set edits are checked against; LICENSE_REQUIRED when there is none. */
  async fleetEdition(db: Db = this.db): Promise<Edition> {
    const { edition } = await this.state(db);
    if (!edition) throw LicenseError.required();
    return edition;
  }

  async activate(actor: Actor, key: string): Promise<LicenseView> {
    const verified = verifyLicenseKey(key, this.config.licensePublicKeyPem);
    if (!verified.ok) throw LicenseError.invalidKey(verified.errors);
    const l = verified.value;
    await this.db.$transaction(async (tx) => {
      const row = await tx.license.create({
        data: {
          key: key.trim(),
          serial: l.serial,
          edition: l.edition,
          seats: l.seats,
          issuedTo: l.issuedTo,
          issuedAt: new Date(l.issuedAtMs),
          expiresAt: l.expiresAtMs === null ? null : new Date(l.expiresAtMs),
          activatedBy: actor.label,
        },
      });
      await this.reassignSeats(tx);
      await this.audit.record(tx, actor, { action: 'license.activate', target: `license:${row.id}`, after: { serial: l.serial, edition: l.edition, seats: l.seats, issuedTo: l.issuedTo } });
    });
    const view = await this.view();
    this.bus.publish('license', view);
    return view;
  }

  /**
   * Gives seats to the oldest agents (the trial: everyone). Runs after every enrollment,
   * retirement and activation, in their transaction.
   */
  async reassignSeats(db: Db): Promise<void> {
    const { edition, seats } = await this.state(db);
    await db.$executeRaw`UPDATE agents SET edition = NULL WHERE retired_at IS NOT NULL AND edition IS NOT NULL`;
    await db.$executeRaw`
      UPDATE agents a SET edition = CASE WHEN ${edition}::text IS NOT NULL AND (${seats}::int IS NULL OR r.rank <= ${seats}::int) THEN ${edition}::text END
        FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS rank FROM agents WHERE retired_at IS NULL) r
       WHERE a.id = r.id`;
  }

  /** The signed snapshot an agent receives with every rule set: its edition until the license ends. */
  snapshot(state: LicenseState, agentId: string, edition: Edition): CapabilitySnapshot {
    return signCapabilities(capabilitiesFor(agentId, edition, Date.now(), state.expiresAt?.getTime() ?? null), this.key());
  }

  private key(): KeyObject {
    if (!this.signingKey) throw new Error('LicensingService.init() has not run');
    return this.signingKey;
  }

  private trialStart(): Date {
    if (!this.trialStartedAt) throw new Error('LicensingService.init() has not run');
    return this.trialStartedAt;
  }
}
