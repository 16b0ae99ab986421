import { z } from 'zod';
import { API_ERROR_STATUS, RUNTIME_ERROR_STATUS, statusOf, type ErrorCode } from './http-error.js';
import type { RouteSpec } from './routes.js';
import { ErrorBodySchema } from './schemas.js';

/**
 * The OpenAPI 3.1 document of the admin API, built from the same route declarations and zod schemas
 * that app.ts validates with (zod 4's `z.toJSONSchema`), so it cannot miss a route or a field. Every
 * operation lists its parameters, its 200 body, and each error status with the codes it may carry
 * (`x-error-codes`); `x-required-role` says which token it needs. Response types with an `id` in
 * their zod metadata (schemas.ts) become `components.schemas`. Served at `GET /api/openapi.json`.
 */

export type OpenApiDocument = {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
  'x-error-codes': Record<string, number>;
};

type JsonSchema = Record<string, unknown>;

export function buildOpenApiDocument(routes: readonly RouteSpec[], info: { title?: string; version?: string } = {}): OpenApiDocument {
  const components: Record<string, unknown> = {};

  const toJson = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
    const { $schema: _, $defs, ...json } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
    for (const [id, def] of Object.entries(($defs ?? {}) as Record<string, unknown>)) components[id] ??= toComponentRefs(def);
    return toComponentRefs(json) as JsonSchema;
  };
  const errorBody = toJson(ErrorBodySchema, 'output');

  const paths: OpenApiDocument['paths'] = {};
  for (const route of routes) {
    const path = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const parameters = [
      ...parametersOf(route.params, 'path', toJson),
      ...parametersOf(route.query, 'query', toJson),
    ];
    const responses: Record<string, unknown> = {};
    const success = route.success ?? { status: 200, description: 'OK' };
    responses[String(success.status)] = {
      description: success.description,
      ...(route.response
        ? { content: { 'application/json': { schema: toJson(route.response, 'output') } } }
        : success.contentType ? { content: { [success.contentType]: {} } } : {}),
    };
    const byStatus = new Map<number, ErrorCode[]>();
    for (const code of errorCodesOf(route)) byStatus.set(statusOf(code), [...(byStatus.get(statusOf(code)) ?? []), code]);
    for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
      responses[String(status)] = {
        description: codes.join(', '),
        'x-error-codes': codes,
        content: { 'application/json': { schema: errorBody } },
      };
    }
    const operation: Record<string, unknown> = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: [route.tag],
      'x-required-role': route.access === 'public' ? null : route.access,
      security: route.access === 'public' ? [] : [{ bearer: [] }],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.body
        ? {
            requestBody: {
              required: !route.body.safeParse(undefined).success && !route.body.safeParse({}).success,
              content: { 'application/json': { schema: toJson(route.body, 'input') } },
            },
          }
        : {}),
      responses,
    };
    (paths[path] ??= {})[route.method] = operation;
  }

  return {
    openapi: '3.1.0',
    info: {
      title: info.title ?? 'Highlander admin API',
      version: info.version ?? '1',
      description:
        'Operations API of a Highlander cluster. Every /api route needs `Authorization: Bearer <token>` ' +
        '(role viewer for reads, operator for actions). Errors are `{ "error": { "code", "message", "details"?, ' +
        '"correlationId"? } }`; `x-error-codes` lists every code and its status.',
    },
    paths,
    components: {
      schemas: components,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A configured viewer or operator token' } },
    },
    'x-error-codes': { ...API_ERROR_STATUS, ...RUNTIME_ERROR_STATUS },
  };
}

/** The codes a route may answer with: its own, and those of its access level and inputs. */
export function errorCodesOf(route: RouteSpec): ErrorCode[] {
  const codes = new Set<ErrorCode>();
  if (route.access !== 'public') codes.add('UNAUTHENTICATED');
  if (route.access === 'operator') {
    codes.add('FORBIDDEN');
    codes.add('READ_ONLY');
  }
  if (route.params || route.query || route.body) codes.add('VALIDATION_FAILED');
  if (route.body) {
    codes.add('INVALID_JSON');
    codes.add('PAYLOAD_TOO_LARGE');
    codes.add('UNSUPPORTED_MEDIA_TYPE');
  }
  for (const code of route.errors) codes.add(code);
  codes.add('INTERNAL');
  return [...codes];
}

function parametersOf(schema: z.ZodObject | undefined, where: 'path' | 'query', toJson: (s: z.ZodType, io: 'input') => JsonSchema): unknown[] {
  if (!schema) return [];
  return Object.entries(schema.shape).map(([name, field]) => {
    const { description, ...json } = toJson(field as z.ZodType, 'input');
    return {
      name,
      in: where,
      required: where === 'path' || !(field as z.ZodType).safeParse(undefined).success,
      ...(typeof description === 'string' ? { description } : {}),
      schema: json,
    };
  });
}

function toComponentRefs(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value).replaceAll('"#/$defs/', '"#/components/schemas/'));
}
