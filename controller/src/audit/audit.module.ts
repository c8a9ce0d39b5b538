import { Global, Module } from '@nestjs/common';
import { AuditHttp } from './audit.http';
import { AuditService } from './audit.service';

@Global()
@Module({ controllers: [AuditHttp], providers: [AuditService], exports: [AuditService] })
export class AuditModule {}
