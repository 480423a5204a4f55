/**
 * Shared data shapes of the prediction engine. Everything in engine/ is pure (no I/O,
 * no server or pool imports), so training and serving run the same code.
 */

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface ParamInfo {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  /** JSON-schema type when known ("string", "integer", ...). */
  type?: string;
  description?: string;
  /** The closed set of values the schema allows (enum), when it has one; at most 32 kept. */
  enum?: string[];
}

/** One operation of an API: the unit the predictor ranks. */
export interface Endpoint {
  /** "METHOD /path/{template}", unique within a catalog, the form used in responses. */
  id: string;
  /** Position in Catalog.endpoints. */
  index: number;
  method: HttpMethod;
  /** Path template as written in the spec, e.g. "/users/{id}/orders". */
  path: string;
  summary: string;
  description: string;
  operationId: string;
  tags: string[];
  parameters: ParamInfo[];
  /** Top-level property names of the JSON request body (empty when none). */
  requestBodyFields: string[];
  /**
   * Property names of the success (2xx) JSON response, flattened with dots for nested
   * objects and "[]" for arrays: ["id", "name", "owner.id", "results[].id"]. Depth-limited.
   */
  responseFields: string[];
  deprecated: boolean;
}

/** The parsed form of one API description. */
export interface Catalog {
  specId: string;
  title: string;
  version: string;
  /** "openapi-3.0" | "openapi-3.1" | "swagger-2.0" */
  format: string;
  endpoints: Endpoint[];
  /** Content hash of the catalog; changes whenever any endpoint changes. */
  hash: string;
  /** Path prefix from the spec's servers/basePath ("/v3"), stripped from history paths. */
  basePath: string;
  /** Schema complaints tolerated in lenient mode (empty for a clean document). */
  warnings: string[];
}

/** A history entry after resolution against the catalog. */
export interface ResolvedCall {
  /** The raw api_call string the client sent. */
  raw: string;
  /** Endpoint index in the catalog, or -1 when it matched nothing. */
  endpoint: number;
  /** Path parameter values taken from a concrete path ({ id: "123" }). */
  params: Record<string, string>;
  /** Milliseconds since epoch when the client gave a timestamp. */
  timestamp?: number;
}
