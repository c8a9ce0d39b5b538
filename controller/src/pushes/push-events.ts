import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../core.module';
import { PrismaService } from '../db/prisma.service';
import { EventBus } from '../events/event-bus';
import type { PushTargetState } from '../generated/prisma/client';
import { countStates } from './push-view';

/** Push events go out at most once per push per this window. */
export const PUSH_EVENT_WINDOW_MS = 250;

/**
 * Live `push` events, coalesced: every change marks the push, and once per window each marked push
 * gets one event with its status and state counts (two queries for all of them). When exactly one
 * target changed in the window the event names it (agentId, state), as a single-agent push expects.
 */
@Injectable()
export class PushEvents implements OnModuleDestroy {
  private readonly due = new Map<string, Map<string, PushTargetState>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: PrismaService,
    private readonly bus: EventBus,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  changed(pushId: string, target?: { agentId: string; state: PushTargetState }): void {
    let targets = this.due.get(pushId);
    if (!targets) this.due.set(pushId, (targets = new Map()));
    if (target) targets.set(target.agentId, target.state);
    this.timer ??= setTimeout(() => void this.flush(), PUSH_EVENT_WINDOW_MS);
  }

  onModuleDestroy(): void {
    clearTimeout(this.timer);
  }

  private async flush(): Promise<void> {
    const due = new Map(this.due);
    this.due.clear();
    try {
      const ids = [...due.keys()];
      const [pushes, groups] = await Promise.all([
        this.db.push.findMany({ where: { id: { in: ids } }, select: { id: true, status: true } }),
        this.db.pushTarget.groupBy({ by: ['pushId', 'state'], where: { pushId: { in: ids } }, _count: { _all: true } }),
      ]);
      for (const push of pushes) {
        const counts = countStates([]);
        for (const g of groups) if (g.pushId === push.id) counts[g.state] = g._count._all;
        const targets = due.get(push.id)!;
        const [only] = targets.size === 1 ? [...targets] : [];
        this.bus.publish('push', { pushId: push.id, agentId: only?.[0] ?? null, state: only?.[1] ?? null, status: push.status, counts });
      }
    } catch (err) {
      this.logger.warn({ err }, 'could not publish push events');
    } finally {
      this.timer = undefined;
      if (this.due.size > 0) this.timer = setTimeout(() => void this.flush(), PUSH_EVENT_WINDOW_MS);
    }
  }
}
