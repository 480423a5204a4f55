/**
 * POST /specs (JSON or YAML document in the body, or { url } / { spec }), GET /specs,
 * GET /specs/:id, DELETE /specs/:id.
 */
import { parseSpecText } from '../../engine/catalog';
import type { ServerContext } from '../app';
import { Errors } from '../errors';
import { summarize } from '../spec-registry';
import type { HttpRequest } from '../uws-adapter';
import { bodyText, isJson, isYaml, mediaType, rateLimit } from './common';

const SPEC_ID = /^[a-z0-9][a-z0-9._-]{0,127}$/i;

export function registerSpecRoutes(ctx: ServerContext): void {
  const { http, specs } = ctx;

  http.route(
    'post',
    '/specs',
    async (req: HttpRequest) => {
      const limitHeaders = rateLimit(ctx, req);
      const query = new URLSearchParams(req.query);
      let specId = query.get('spec_id') ?? undefined;
      let strict = query.get('strict') === 'true';
      if (!isJson(req) && !isYaml(req)) {
        throw Errors.unsupportedMediaType(mediaType(req) || '(none)', 'application/json or application/yaml');
      }
      const text = bodyText(req);
      if (text.trim() === '') throw Errors.invalidSpec('body is empty');
      let doc: Record<string, unknown>;
      try {
        doc = parseSpecText(text);
      } catch (err) {
        throw isJson(req) ? Errors.badJson((err as Error).message) : Errors.invalidSpec((err as Error).message);
      }
      // A JSON wrapper { url } or { spec } instead of the document itself.
      const isDocument = 'openapi' in doc || 'swagger' in doc;
      if (!isDocument) {
        if (typeof doc.spec_id === 'string') specId = doc.spec_id;
        if (typeof doc.strict === 'boolean') strict = doc.strict;
      }
      if (specId !== undefined && !SPEC_ID.test(specId)) throw Errors.validation('spec_id must be 1-128 letters, digits, ".", "_" or "-"');
      let reg;
      if (isDocument) {
        reg = await specs.add(doc, { specId, source: 'upload', strict });
      } else if (typeof doc.url === 'string') {
        reg = await specs.addFromUrl(doc.url, { specId, strict });
      } else if (doc.spec !== undefined) {
        const inner = typeof doc.spec === 'string' ? parseSpecOrThrow(doc.spec) : doc.spec;
        if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) throw Errors.invalidSpec('"spec" must be an OpenAPI document');
        reg = await specs.add(inner as Record<string, unknown>, { specId, source: 'upload', strict });
      } else {
        throw Errors.validation('send an OpenAPI document, or { "url": ... } or { "spec": ... }');
      }
      return { status: 201, body: summarize(reg), headers: limitHeaders };
    },
    { body: true, maxBodyBytes: ctx.config.maxSpecBytes },
  );

  http.route('get', '/specs', () => ({ status: 200, body: { specs: specs.list(), default_spec: ctx.config.defaultSpec } }));

  http.route('get', '/specs/:id', (req) => {
    const s = specs.get(req.params[0]!);
    if (!s) throw Errors.specNotFound(req.params[0]!);
    return {
      status: 200,
      body: {
        ...summarize(s),
        endpoint_list: s.catalog.endpoints.map((e) => ({
          api_call: e.id,
          method: e.method,
          path: e.path,
          summary: e.summary,
          operation_id: e.operationId,
          tags: e.tags,
          parameters: e.parameters.map((p) => ({ name: p.name, in: p.in, required: p.required, type: p.type })),
          request_body_fields: e.requestBodyFields,
          response_fields: e.responseFields,
        })),
      },
    };
  });

  http.route('del', '/specs/:id', async (req) => {
    const id = req.params[0]!;
    if (!(await specs.delete(id))) throw Errors.specNotFound(id);
    return { status: 200, body: { deleted: id } };
  });
}

function parseSpecOrThrow(text: string): unknown {
  try {
    return parseSpecText(text);
  } catch (err) {
    throw Errors.invalidSpec((err as Error).message);
  }
}
