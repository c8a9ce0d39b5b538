import { Injectable, RequestMethod } from '@nestjs/common';
import { PATH_METADATA, METHOD_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { ACCESS, type Access } from '../auth/access.decorator';
import { ROUTE_DOCS } from './route-docs';

export interface Route {
  method: string;
  path: string;
  access: Access | undefined;
}

/** The OpenAPI 3.1 document of the HTTP API, built from the routes Nest actually serves. */
@Injectable()
export class OpenApiService {
  private document?: object;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  routes(): Route[] {
    const routes: Route[] = [];
    for (const wrapper of this.discovery.getControllers()) {
      const instance = wrapper.instance as object | undefined;
      if (!instance) continue;
      const base = String(this.reflector.get<string>(PATH_METADATA, instance.constructor) ?? '');
      const proto = Object.getPrototypeOf(instance) as Record<string, unknown>;
      for (const name of this.scanner.getAllMethodNames(proto)) {
        const handler = proto[name] as (...args: unknown[]) => unknown;
        const sub = this.reflector.get<string | undefined>(PATH_METADATA, handler);
        if (sub === undefined) continue;
        const method = RequestMethod[this.reflector.get<RequestMethod>(METHOD_METADATA, handler)];
        const path = `/${[base, sub].map((p) => p.replace(/^\/|\/$/g, '')).filter(Boolean).join('/')}`.replace(/:(\w+)/g, '{$1}');
        routes.push({ method, path, access: this.reflector.getAllAndOverride<Access>(ACCESS, [handler, instance.constructor]) });
      }
    }
    return routes.sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
  }

  build(): object {
    if (this.document) return this.document;
    const paths: Record<string, Record<string, object>> = {};
    for (const r of this.routes()) {
      const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
      (paths[r.path] ??= {})[r.method.toLowerCase()] = {
        summary: ROUTE_DOCS[`${r.method} ${r.path}`] ?? r.path,
        ...(params.length > 0 && { parameters: params }),
        ...(['POST', 'PUT', 'PATCH'].includes(r.method) && { requestBody: { required: false, content: { 'application/json': { schema: { type: 'object' } } } } }),
        security: r.access === 'public' ? [] : [{ session: [], bearer: [] }],
        'x-portfleet-role': r.access,
        responses: {
          '200': { description: 'success (201 for creations, 204 without a body)' },
          default: { description: 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        },
      };
    }
    this.document = {
      openapi: '3.1.0',
      info: { title: 'Portfleet controller API', version: '1', description: 'The complete contract with every shape is docs/http-api.md.' },
      paths,
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: 'pf_session', description: 'mutations also need the x-csrf-token header' },
          bearer: { type: 'http', scheme: 'bearer', description: 'API token pft_…' },
        },
        schemas: {
          Error: {
            type: 'object',
            required: ['error'],
            properties: {
              error: {
                type: 'object',
                required: ['code', 'message', 'details'],
                properties: {
                  code: { type: 'string' },
                  message: { type: 'string' },
                  field: { type: 'string' },
                  details: { type: 'array', items: { $ref: '#/components/schemas/RuleError' } },
                },
              },
            },
          },
          RuleError: {
            type: 'object',
            properties: { ruleIndex: { type: ['integer', 'null'] }, ruleId: { type: ['string', 'null'] }, field: { type: 'string' }, code: { type: 'string' }, message: { type: 'string' } },
          },
        },
      },
    };
    return this.document;
  }
}
