import { Controller, Get, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Access } from '../auth/access.decorator';
import { EventBus } from './event-bus';

const PING_INTERVAL_MS = 15_000;

/** `GET /api/events`: the live stream the console subscribes to (Server-Sent Events). */
@Controller('api/events')
export class EventsHttp {
  constructor(private readonly bus: EventBus) {}

  @Get()
  @Access('viewer')
  stream(@Req() req: FastifyRequest, @Res() reply: FastifyReply): void {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(': connected\n\n');
    const unsubscribe = this.bus.subscribe((event) => {
      res.write(`event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`);
    });
    const ping = setInterval(() => res.write(': ping\n\n'), PING_INTERVAL_MS);
    const end = () => {
      clearInterval(ping);
      unsubscribe();
    };
    req.raw.on('close', end);
    res.on('close', end);
  }
}
