import { Module } from '@nestjs/common';
import { ActivityRates } from './activity-rates';
import { ActivityRetention } from './activity-retention';
import { ActivityRollup } from './activity-rollup';
import { ACTIVITY_SETTINGS, activitySettings } from './activity-settings';
import { ActivityWriter } from './activity-writer';
import { ActivityHttp } from './activity.http';
import { ActivityService } from './activity.service';

@Module({
  controllers: [ActivityHttp],
  providers: [{ provide: ACTIVITY_SETTINGS, useFactory: () => activitySettings() }, ActivityWriter, ActivityRollup, ActivityRetention, ActivityService, ActivityRates],
  exports: [ActivityService, ActivityRates, ActivityRollup],
})
export class ActivityModule {}
