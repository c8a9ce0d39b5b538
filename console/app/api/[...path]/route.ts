import { forward } from '@/proxy/forward';

// Every method of /api/* goes to the controller; nothing here is cached or prerendered.
export const runtime = 'nodejs';

export const GET = forward;
export const HEAD = forward;
export const POST = forward;
export const PUT = forward;
export const PATCH = forward;
export const DELETE = forward;
export const OPTIONS = forward;
