import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import type { Actor } from '../auth/actor';
import { Access, CurrentActor } from '../auth/access.decorator';
import { requireObject, requireString } from '../errors/request-fields';
import { LicensingService } from './licensing.service';

@Controller('api/license')
export class LicensingHttp {
  constructor(private readonly licensing: LicensingService) {}

  @Get()
  @Access('viewer')
  get() {
    return this.licensing.view();
  }

  @Post()
  @Access('admin')
  @HttpCode(200)
  activate(@Body() body: unknown, @CurrentActor() actor: Actor) {
    return this.licensing.activate(actor, requireString(requireObject(body).key, 'key', 4096));
  }
}
