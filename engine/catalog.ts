/**
 * OpenAPI / Swagger document -> Catalog of endpoints.
 *
 * Parsing, validation and $ref dereferencing are done by @apidevtools/swagger-parser;
 * this module only reads the dereferenced document into our Endpoint shape. External
 * $refs (other files, URLs) are never followed: a client-supplied spec must not make the
 * server read its disk or call out to the network.
 */
import { createHash } from 'node:crypto';
import SwaggerParser from '@apidevtools/swagger-parser';
import YAML from 'yaml';
import { HTTP_METHODS, type Catalog, type Endpoint, type HttpMethod, type ParamInfo } from './types';

/** Why a document was refused; `message` carries the parser's own reason. */
export class SpecError extends Error {
  constructor(
    message: string,
    readonly reason: 'syntax' | 'not_openapi' | 'invalid' | 'empty',
  ) {
    super(message);
    this.name = 'SpecError';
  }
}

/** How deep response schemas are walked for field names; real specs nest deeply and cyclically. */
const MAX_FIELD_DEPTH = 4;
const MAX_FIELDS = 200;

/** Text (JSON or YAML) or an already-parsed object -> plain object, or a SpecError. */
export function parseSpecText(text: string): Record<string, unknown> {
  const trimmed = text.trimStart();
  let doc: unknown;
  try {
    doc = trimmed.startsWith('{') ? JSON.parse(text) : YAML.parse(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new SpecError(`spec is neither valid JSON nor YAML: ${(err as Error).message.split('\n')[0]}`, 'syntax');
  }
  if (!isObject(doc)) throw new SpecError('spec must be a JSON or YAML object', 'not_openapi');
  return doc;
}

export interface CatalogOptions {
  /** Catalog id; defaults to a slug of info.title. */
  specId?: string;
  /** Refuse documents that fail the OpenAPI JSON schema (default: accept with a warning). */
  strict?: boolean;
}

/**
 * Validate and dereference an OpenAPI 3.0/3.1 or Swagger 2.0 document and extract its
 * endpoints. Rejects with SpecError (reason "invalid" carries swagger-parser's message).
 */
export async function buildCatalog(input: Record<string, unknown>, opts: CatalogOptions = {}): Promise<Catalog> {
  const format = detectFormat(input);
  // swagger-parser mutates its input while dereferencing; work on a copy.
  const copy = structuredClone(input) as never;
  const warnings: string[] = [];
  let api: Record<string, unknown>;
  try {
    api = await validate(copy, true);
  } catch (strictErr) {
    // Published specs often break the JSON schema in harmless ways (a vendor key without
    // the "x-" prefix, say). Unless strict mode is asked for, accept a document that still
    // dereferences and passes swagger-parser's semantic checks, and report the schema
    // complaint as a warning.
    if (opts.strict) throw new SpecError(firstLine((strictErr as Error).message), 'invalid');
    try {
      api = await validate(structuredClone(input) as never, false);
    } catch (err) {
      throw new SpecError(firstLine((err as Error).message), 'invalid');
    }
    warnings.push(firstLine((strictErr as Error).message));
  }
  const problem = structuralProblem(api);
  if (problem) throw new SpecError(problem, 'invalid');
  const endpoints = extractEndpoints(api, format);
  if (endpoints.length === 0) throw new SpecError('spec defines no operations', 'empty');
  const info = isObject(api.info) ? api.info : {};
  const title = str(info.title) || 'Untitled API';
  const hash = createHash('sha256')
    .update(JSON.stringify(endpoints.map((e) => [e.id, e.summary, e.description, e.parameters, e.responseFields])))
    .digest('hex');
  return {
    specId: opts.specId ?? slugify(title),
    title,
    version: str(info.version),
    format,
    endpoints,
    hash,
    warnings,
    basePath: basePathOf(api),
  };
}

/**
 * Checks made in every mode (swagger-parser leaves some to the spec author), because without them the catalog would be
 * wrong rather than merely untidy: operations are objects, parameters are named, and
 * every {placeholder} of a path template is declared as a path parameter.
 */
function structuralProblem(api: Record<string, unknown>): string | undefined {
  if (!isObject(api.paths)) return '"paths" must be an object';
  for (const [path, item] of Object.entries(api.paths)) {
    if (!path.startsWith('/')) continue; // "x-" extension keys are allowed beside paths
    if (!isObject(item)) return `paths["${path}"] must be an object`;
    const shared = Array.isArray(item.parameters) ? item.parameters : [];
    for (const m of HTTP_METHODS) {
      const op = item[m.toLowerCase()];
      if (op === undefined) continue;
      if (!isObject(op)) return `${m} ${path}: operation must be an object`;
      if (op.responses !== undefined && !isObject(op.responses)) return `${m} ${path}: "responses" must be an object`;
      const params = [...shared, ...(Array.isArray(op.parameters) ? op.parameters : [])];
      const declared = new Set<string>();
      for (const p of params) {
        if (!isObject(p) || typeof p.name !== 'string' || typeof p.in !== 'string') return `${m} ${path}: every parameter needs a "name" and an "in"`;
        if (p.in === 'path') declared.add(p.name);
      }
      // Some published templates carry a query part ("/uploads?convert={convert}"):
      // only the placeholders of the path proper must be path parameters.
      for (const hole of path.split('?')[0]!.matchAll(/\{([^}]+)\}/g)) {
        if (!declared.has(hole[1]!)) return `${m} ${path}: path parameter "${hole[1]}" is not declared`;
      }
    }
  }
  return undefined;
}

async function validate(doc: never, schema: boolean): Promise<Record<string, unknown>> {
  const options = {
    resolve: { external: false, file: false, http: false },
    dereference: { circular: 'ignore' },
    validate: { schema, spec: true },
  } as SwaggerParser.Options;
  return (await SwaggerParser.validate(doc, options)) as unknown as Record<string, unknown>;
}

export function detectFormat(doc: Record<string, unknown>): string {
  if (typeof doc.swagger === 'string' && doc.swagger.startsWith('2.')) return 'swagger-2.0';
  if (typeof doc.openapi === 'string') {
    if (doc.openapi.startsWith('3.1')) return 'openapi-3.1';
    if (doc.openapi.startsWith('3.0')) return 'openapi-3.0';
    throw new SpecError(`unsupported openapi version ${doc.openapi}`, 'not_openapi');
  }
  throw new SpecError('document has neither an "openapi" nor a "swagger" version field', 'not_openapi');
}

/** A url-safe id: lower-case words joined by "-", at most 64 chars. */
export function slugify(text: string): string {
  const s = text
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64)
    .replace(/-+$/, '');
  return s || 'api';
}

function extractEndpoints(api: Record<string, unknown>, format: string): Endpoint[] {
  const out: Endpoint[] = [];
  const paths = isObject(api.paths) ? api.paths : {};
  const seen = new Set<string>();
  for (const [path, itemRaw] of Object.entries(paths)) {
    if (!isObject(itemRaw) || !path.startsWith('/')) continue;
    const sharedParams = Array.isArray(itemRaw.parameters) ? itemRaw.parameters : [];
    for (const m of HTTP_METHODS) {
      const op = itemRaw[m.toLowerCase()];
      if (!isObject(op)) continue;
      const id = `${m} ${path}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const params = mergeParams(sharedParams, Array.isArray(op.parameters) ? op.parameters : []);
      out.push({
        id,
        index: out.length,
        method: m as HttpMethod,
        path,
        summary: str(op.summary).trim(),
        description: str(op.description).trim(),
        operationId: str(op.operationId),
        tags: Array.isArray(op.tags) ? op.tags.filter((x): x is string => typeof x === 'string') : [],
        parameters: params.filter((p) => p.in !== 'body' && p.in !== 'formData') as ParamInfo[],
        requestBodyFields: requestFields(op, params, format),
        responseFields: responseFields(op, format),
        deprecated: op.deprecated === true,
      });
    }
  }
  return out;
}

type RawParam = Omit<ParamInfo, 'in'> & { in: string; schema?: unknown };

function mergeParams(shared: unknown[], own: unknown[]): RawParam[] {
  const byKey = new Map<string, RawParam>();
  for (const p of [...shared, ...own]) {
    if (!isObject(p) || typeof p.name !== 'string' || typeof p.in !== 'string') continue;
    const schema = isObject(p.schema) ? p.schema : p;
    byKey.set(`${p.in}:${p.name}`, {
      name: p.name,
      in: p.in,
      required: p.required === true || p.in === 'path',
      type: typeof schema.type === 'string' ? schema.type : undefined,
      description: typeof p.description === 'string' ? p.description : undefined,
      ...enumValues(schema.enum),
      schema: p.schema,
    });
  }
  return [...byKey.values()].map(({ schema: _schema, ...rest }) => rest as RawParam);
}

/** `{ enum }` with an enum's values as strings (a closed vocabulary the client picks from), or `{}`. */
function enumValues(raw: unknown): { enum?: string[] } {
  if (!Array.isArray(raw)) return {};
  const vals = raw.filter((v) => typeof v === 'string' || typeof v === 'number').map(String);
  return vals.length ? { enum: vals.slice(0, 32) } : {};
}

function requestFields(op: Record<string, unknown>, params: RawParam[], format: string): string[] {
  if (format === 'swagger-2.0') {
    const rawParams = Array.isArray(op.parameters) ? op.parameters : [];
    const body = rawParams.find((p) => isObject(p) && p.in === 'body') as Record<string, unknown> | undefined;
    if (body && isObject(body.schema)) return topLevelProps(body.schema);
    return params.filter((p) => p.in === 'formData').map((p) => p.name);
  }
  const rb = op.requestBody;
  if (!isObject(rb) || !isObject(rb.content)) return [];
  const media = pickMedia(rb.content);
  return media && isObject(media.schema) ? topLevelProps(media.schema) : [];
}

function responseFields(op: Record<string, unknown>, format: string): string[] {
  if (!isObject(op.responses)) return [];
  const codes = Object.keys(op.responses).filter((c) => /^2\d\d$|^2XX$/i.test(c)).sort();
  const code = codes[0];
  if (!code) return [];
  const resp = op.responses[code];
  if (!isObject(resp)) return [];
  let schema: unknown;
  if (format === 'swagger-2.0') schema = resp.schema;
  else if (isObject(resp.content)) schema = pickMedia(resp.content)?.schema;
  const out: string[] = [];
  if (isObject(schema)) walkFields(schema, '', 0, out, new Set());
  return out;
}

function pickMedia(content: Record<string, unknown>): Record<string, unknown> | undefined {
  const keys = Object.keys(content);
  const key = keys.find((k) => /json/i.test(k)) ?? keys[0];
  const media = key === undefined ? undefined : content[key];
  return isObject(media) ? media : undefined;
}

function topLevelProps(schema: Record<string, unknown>): string[] {
  const props = new Set<string>();
  for (const s of schemaVariants(schema)) {
    if (isObject(s.properties)) for (const k of Object.keys(s.properties)) props.add(k);
  }
  return [...props];
}

/** allOf/oneOf/anyOf branches flattened, so composed schemas still show their fields. */
function schemaVariants(schema: Record<string, unknown>): Record<string, unknown>[] {
  const out = [schema];
  for (const key of ['allOf', 'oneOf', 'anyOf']) {
    const list = schema[key];
    if (Array.isArray(list)) for (const s of list) if (isObject(s)) out.push(s);
  }
  return out;
}

function walkFields(schema: Record<string, unknown>, prefix: string, depth: number, out: string[], seen: Set<unknown>): void {
  if (depth > MAX_FIELD_DEPTH || out.length >= MAX_FIELDS || seen.has(schema)) return;
  seen.add(schema);
  for (const s of schemaVariants(schema)) {
    if (isObject(s.items)) walkFields(s.items, `${prefix}[]`, depth + 1, out, seen);
    if (!isObject(s.properties)) continue;
    for (const [name, sub] of Object.entries(s.properties)) {
      if (out.length >= MAX_FIELDS) break;
      if (!name) continue;
      const path = prefix ? `${prefix}.${name}` : name;
      out.push(path);
      if (isObject(sub)) walkFields(sub, path, depth + 1, out, seen);
    }
  }
  seen.delete(schema);
}

/** Path prefix of the API's server ("/v3" for https://api.example.com/v3), "" when none. */
function basePathOf(api: Record<string, unknown>): string {
  let raw = '';
  if (typeof api.basePath === 'string') raw = api.basePath;
  else if (Array.isArray(api.servers) && isObject(api.servers[0]) && typeof api.servers[0].url === 'string') {
    raw = api.servers[0].url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '');
  }
  raw = raw.replace(/\{[^}]*\}/g, '').replace(/\/+$/, '');
  return raw.startsWith('/') ? raw : '';
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function str(x: unknown): string {
  return typeof x === 'string' ? x : '';
}

function firstLine(s: string): string {
  const line = s.split('\n').slice(0, 3).join(' ').trim();
  return line.length > 500 ? `${line.slice(0, 500)}…` : line;
}
