import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { capabilitiesFor, signCapabilities, verifyLicenseKey, type Edition } from '@portfleet/proto';
import type { CapabilitySnapshot } from '@portfleet/proto/gen/rules';
import type { Actor } from '../auth/actor';
import { AuditService } from '../audit/audit.service';
import type { Config } from '../config';
import { CONFIG } from '../core.module';
import { PrismaService, type Db } from '../db/prisma.service';
import { Prisma, type License } from '../generated/prisma/client';
import { EventBus } from '../events/event-bus';
import { keepOnce } from './controller-state';
import { licenseState, licenseView, type LicenseState, type LicenseView } from './license-state';
import { LicenseError } from './licensing.errors';

const TRIAL_STARTED_AT = 'trial_started_at';
const CAPABILITY_KEY = 'capability_signing_key';
/**
 * How long the license row is trusted without reading it again. Activation here forgets it at
 * once; an activation on another replica of the controller is seen within this time. Expiry needs
 * no refresh: it is computed from the cached row at every call.
 */
const LICENSE_CACHE_TTL_MS = 5_000;
/** Enrollments, retirements and activations that change seats take this transaction lock in turn. */
const SEATS_LOCK = Prisma.sql`SELECT pg_advisory_xact_lock(hashtext('portfleet.seats'))`;

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
  private cached?: { license: License | null; until: number };
  /** Bumped on activation: a read begun before it must not be cached. */
  private generation = 0;

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
    await this.db.$transaction((tx) => this.reassignSeats(tx));
  }

  capabilityPublicKeyPem(): string {
    return createPublicKey(this.key()).export({ type: 'spki', format: 'pem' }).toString();
  }

  /** Inside a transaction (`db` given) the license is read there; otherwise from a short cache. */
  async state(db: Db = this.db): Promise<LicenseState> {
    if (db !== this.db) return licenseState(this.trialStart(), await currentLicense(db), Date.now());
    let now = Date.now();
    if (!this.cached || this.cached.until <= now) {
      const generation = this.generation;
      const license = await currentLicense(this.db);
      now = Date.now();
      if (generation === this.generation) this.cached = { license, until: now + LICENSE_CACHE_TTL_MS };
      return licenseState(this.trialStart(), license, now);
    }
    return licenseState(this.trialStart(), this.cached.license, now);
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
    this.generation++;
    this.cached = undefined;
    const view = await this.view();
    this.bus.publish('license', view);
    return view;
  }

  /**
   * Gives seats to the oldest agents (the trial: everyone), from scratch: on start and on
   * activation, in its transaction. Only rows whose seat changes are written.
   */
  async reassignSeats(tx: Prisma.TransactionClient): Promise<void> {
    await tx.$executeRaw(SEATS_LOCK);
    const { edition, seats } = await this.state(tx);
    // One statement locking the rows it changes in id order (agent-row-order.ts), as every writer
    // of agents does: unordered, it deadlocked with the Hello batches of a fleet still connecting.
    // Retired agents lose their seat here too (a second statement would be a second locking pass).
    await tx.$executeRaw`
      WITH r AS (
        SELECT id, CASE WHEN retired_at IS NULL AND ${edition}::text IS NOT NULL
                         AND (${seats}::int IS NULL OR row_number() OVER (PARTITION BY retired_at IS NULL ORDER BY created_at, id) <= ${seats}::int)
                        THEN ${edition}::text END AS seat
          FROM agents),
      changed AS (
        SELECT a.id FROM agents a JOIN r ON r.id = a.id WHERE a.edition IS DISTINCT FROM r.seat ORDER BY a.id FOR NO KEY UPDATE OF a)
      UPDATE agents a SET edition = r.seat
        FROM r
       WHERE a.id = r.id AND a.id IN (SELECT id FROM changed)`;
  }

  /**
   * The seat of an agent about to be enrolled, in the enrollment's transaction: it is the newest
   * agent, so it gets one while seats are left. Takes the seats lock first; the caller stamps the
   * agent's `createdAt` after this returns, so creation order is the order seats were given in.
   */
  async seatForNewAgent(tx: Prisma.TransactionClient): Promise<Edition | null> {
    await tx.$executeRaw(SEATS_LOCK);
    const { edition, seats } = await this.state(tx);
    if (!edition) return null;
    if (seats === null) return edition;
    const enrolled = await tx.agent.count({ where: { retiredAt: null } });
    return enrolled < seats ? edition : null;
  }

  /** An agent holding a seat was retired (in its transaction): the oldest agent without one gets it. */
  async releaseSeat(tx: Prisma.TransactionClient, freed: string | null): Promise<void> {
    if (freed === null) return;
    await tx.$executeRaw(SEATS_LOCK);
    const { edition, seats } = await this.state(tx);
    if (!edition || seats === null) return;
    await tx.$executeRaw`
      UPDATE agents SET edition = ${edition}
       WHERE id = (SELECT id FROM agents WHERE retired_at IS NULL AND edition IS NULL ORDER BY created_at, id LIMIT 1)`;
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

function currentLicense(db: Db): Promise<License | null> {
  return db.license.findFirst({ orderBy: { activatedAt: 'desc' } });
}
