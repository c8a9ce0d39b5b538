import { SetMetadata, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Role } from '../generated/prisma/client';
import type { Actor } from './actor';

export const ACCESS = 'portfleet:access';
/** `public` routes need no login; otherwise the least role a route needs. */
export type Access = 'public' | Role;

/** Every route states who may call it; the guard denies routes that do not say. */
export const Access = (access: Access) => SetMetadata(ACCESS, access);

export interface AuthedRequest {
  actor?: Actor;
}

export const CurrentActor = createParamDecorator((_: unknown, ctx: ExecutionContext): Actor => {
  const actor = ctx.switchToHttp().getRequest<AuthedRequest>().actor;
  if (!actor) throw new Error('CurrentActor used on a route without authentication');
  return actor;
});
