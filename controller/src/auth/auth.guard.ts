import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { hasRole } from './actor';
import { ACCESS, type Access, type AuthedRequest } from './access.decorator';
import { AuthError } from './auth.errors';
import { AuthService } from './auth.service';

export const SESSION_COOKIE = 'pf_session';
export const CSRF_COOKIE = 'pf_csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Authenticates every HTTP route: the session cookie (mutations also need the CSRF header to
 * match the session's token: double submit) or an API token (`Authorization: Bearer`, scope
 * `read` for reads and `write` for changes). Then checks the route's role.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const access = this.reflector.getAllAndOverride<Access | undefined>(ACCESS, [ctx.getHandler(), ctx.getClass()]);
    if (access === 'public') return true;
    if (access === undefined) throw AuthError.role('admin'); // a route that forgot to declare its access
    const request = ctx.switchToHttp().getRequest<FastifyRequest & AuthedRequest>();
    const mutation = !SAFE_METHODS.has(request.method);

    const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (bearer) {
      const actor = await this.auth.tokenActor(bearer);
      const scope = mutation ? 'write' : 'read';
      if (!actor.scopes?.includes(scope)) throw AuthError.scope(scope);
      request.actor = actor;
    } else {
      const cookie = request.cookies?.[SESSION_COOKIE];
      const session = cookie ? await this.auth.session(cookie) : null;
      if (!session) throw AuthError.notLoggedIn();
      if (mutation) {
        const header = request.headers['x-csrf-token'];
        if (typeof header !== 'string' || header !== session.csrfToken || request.cookies?.[CSRF_COOKIE] !== header) throw AuthError.csrf();
      }
      request.actor = session.actor;
    }
    if (!hasRole(request.actor, access)) throw AuthError.role(access);
    return true;
  }
}
