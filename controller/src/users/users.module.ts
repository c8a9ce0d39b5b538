import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { UsersHttp } from './users.http';
import { UsersService } from './users.service';

@Module({ imports: [AuthModule], controllers: [UsersHttp], providers: [UsersService] })
export class UsersModule {}
