import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../core.module';
import { PrismaService } from '../db/prisma.service';
import { EventBus } from '../events/event-bus';
import type { PushTargetState } from '../generated/prisma/client';
import { countStates } from './push-view';

interface ChangedTarget {
  agentId: string;
  state: PushTargetState;
}

/** Push events go out at most once per push per this window. */
export const PUSH_EVENT_WINDOW_MS = 250;

/**
 * Live `push` events, coalesced: every change marks the push, and once per window each marked push
 * gets one event with its status and state counts (two queries for all of them). When exactly one
 * target changed in the window the event names it (agentId, state), as a single-agent push expects.
 */
@Injectable()
export class PushEvents implements OnModuleDestroy {
  /** Per push due: the one target changed in the window, `many`, or none (only the status changed). */
  private readonly due = new Map<string, ChangedTarget | 'many' | null>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: PrismaService,
    private readonly bus: EventBus,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  changed(pushId: string, target?: ChangedTarget): void {
    // Called per ack (10,000 in a second): only whether one target or several changed is kept.
    const seen = this.due.get(pushId) ?? null;
    if (!target) this.due.set(pushId, seen);
    else if (seen === null || (seen !== 'many' && seen.agentId === target.agentId)) this.due.set(pushId, target);
    else this.due.set(pushId, 'many');
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
        const only = due.get(push.id);
        const target = only && only !== 'many' ? only : null;
        this.bus.publish('push', { pushId: push.id, agentId: target?.agentId ?? null, state: target?.state ?? null, status: push.status, counts });
      }
    } catch (err) {
      this.logger.warn({ err }, 'could not publish push events');
    } finally {
      this.timer = undefined;
      if (this.due.size > 0) this.timer = setTimeout(() => void this.flush(), PUSH_EVENT_WINDOW_MS);
    }
  }
}
