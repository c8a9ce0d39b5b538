import { Global, Module } from '@nestjs/common';
import { LicensingHttp } from './licensing.http';
import { LicensingService } from './licensing.service';

@Global()
@Module({ controllers: [LicensingHttp], providers: [LicensingService], exports: [LicensingService] })
export class LicensingModule {}
