import { Module } from '@nestjs/common';
import { ActivityRates } from './activity-rates';
import { ActivityHttp } from './activity.http';
import { ActivityService } from './activity.service';

@Module({ controllers: [ActivityHttp], providers: [ActivityService, ActivityRates], exports: [ActivityService, ActivityRates] })
export class ActivityModule {}
