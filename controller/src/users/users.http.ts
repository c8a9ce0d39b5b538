import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import type { Actor } from '../auth/actor';
import { Access, CurrentActor } from '../auth/access.decorator';
import { requireObject } from '../errors/request-fields';
import { UsersService } from './users.service';

@Controller('api')
export class UsersHttp {
  constructor(private readonly users: UsersService) {}

  @Get('users')
  @Access('admin')
  async list() {
    return { users: await this.users.list() };
  }

  @Post('users')
  @Access('admin')
  create(@Body() body: unknown, @CurrentActor() actor: Actor) {
    const b = requireObject(body);
    return this.users.create(actor, { username: b.username, password: b.password, role: b.role });
  }

  @Patch('users/:id')
  @Access('admin')
  update(@Param('id') id: string, @Body() body: unknown, @CurrentActor() actor: Actor) {
    const b = requireObject(body);
    return this.users.update(actor, id, { role: b.role, password: b.password });
  }

  @Delete('users/:id')
  @Access('admin')
  @HttpCode(204)
  async remove(@Param('id') id: string, @CurrentActor() actor: Actor) {
    await this.users.remove(actor, id);
  }

  @Get('api-tokens')
  @Access('admin')
  async tokens() {
    return { tokens: await this.users.listTokens() };
  }

  @Delete('api-tokens/:id')
  @Access('admin')
  @HttpCode(204)
  async revoke(@Param('id') id: string, @CurrentActor() actor: Actor) {
    await this.users.revokeToken(actor, id);
  }
}
