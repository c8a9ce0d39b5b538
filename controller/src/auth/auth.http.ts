import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { optionalInt, requireObject, requireString, requireStringArray } from '../errors/request-fields';
import type { Actor } from './actor';
import { Access, CurrentActor } from './access.decorator';
import { AuthError } from './auth.errors';
import { CSRF_COOKIE, SESSION_COOKIE } from './auth.guard';
import { AuthService } from './auth.service';

@Controller('api')
export class AuthHttp {
  constructor(private readonly auth: AuthService) {}

  @Post('auth/login')
  @Access('public')
  @HttpCode(200)
  async login(@Body() body: unknown, @Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const b = requireObject(body);
    const username = requireString(b.username, 'username');
    const password = requireString(b.password, 'password', 1024);
    const result = await this.auth.login(username, password, req.ip);
    const secure = req.protocol === 'https';
    const common = { path: '/', sameSite: 'strict' as const, secure, expires: result.expiresAt };
    reply.setCookie(SESSION_COOKIE, result.sessionToken, { ...common, httpOnly: true });
    reply.setCookie(CSRF_COOKIE, result.csrfToken, { ...common, httpOnly: false });
    return { user: view(result.actor), csrfToken: result.csrfToken };
  }

  @Post('auth/logout')
  @Access('public')
  @HttpCode(204)
  async logout(@Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const cookie = req.cookies?.[SESSION_COOKIE];
    if (cookie) await this.auth.logout(cookie);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    reply.clearCookie(CSRF_COOKIE, { path: '/' });
  }

  @Get('auth/me')
  @Access('public')
  async me(@Req() req: FastifyRequest) {
    const cookie = req.cookies?.[SESSION_COOKIE];
    const session = cookie ? await this.auth.session(cookie) : null;
    if (!session) throw AuthError.notLoggedIn();
    return { user: view(session.actor), csrfToken: session.csrfToken };
  }

  @Post('api-tokens')
  @Access('admin')
  async createToken(@Body() body: unknown, @CurrentActor() actor: Actor) {
    const b = requireObject(body);
    const token = await this.auth.createApiToken(actor, {
      name: requireString(b.name, 'name'),
      scopes: b.scopes === undefined ? undefined : requireStringArray(b.scopes, 'scopes'),
      ttlSeconds: optionalInt(b.ttlSeconds, 'ttlSeconds', 60, 10 * 365 * 86400),
    });
    return { ...token, expiresAt: token.expiresAt?.toISOString() ?? null };
  }
}

function view(actor: Actor) {
  return { username: actor.username, role: actor.role };
}
