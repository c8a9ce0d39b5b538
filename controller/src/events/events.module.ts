import { Global, Module } from '@nestjs/common';
import { EventBus } from './event-bus';
import { EventsHttp } from './events.http';

@Global()
@Module({ controllers: [EventsHttp], providers: [EventBus], exports: [EventBus] })
export class EventsModule {}
