import { Module } from '@nestjs/common';
import { UsersHttp } from './users.http';
import { UsersService } from './users.service';

@Module({ controllers: [UsersHttp], providers: [UsersService] })
export class UsersModule {}
