import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthGuard } from './auth.guard';
import { AuthHttp } from './auth.http';
import { AuthService } from './auth.service';
import { LoginThrottle } from './login-throttle';

@Module({
  controllers: [AuthHttp],
  providers: [AuthService, LoginThrottle, { provide: APP_GUARD, useClass: AuthGuard }],
  exports: [AuthService],
})
export class AuthModule {}
