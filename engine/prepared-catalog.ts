/**
 * Per-catalog structures built once per catalog version (never per request): the path
 * trie, the resource graph, the BM25 index, path terms and the endpoint embeddings.
 */
import type { TextEncoder } from './embedder';
import { buildLexicalIndex, endpointText, type LexicalIndex } from './lexical';
import { PathRouter } from './path-router';
import { buildResourceGraph, type ResourceGraph } from './resource-graph';
import { terms } from './tokenizer';
import type { Catalog } from './types';

export interface PreparedCatalog {
  catalog: Catalog;
  router: PathRouter;
  graph: ResourceGraph;
  lexical: LexicalIndex;
  /** Stemmed terms of each endpoint's static path segments. */
  pathTerms: string[][];
  /** Stemmed terms of each list endpoint's qualifier ("top rated" -> ["top", "rat"]). */
  qualifierTerms: string[][];
  /** Whether each endpoint's success response carries an "id" field anywhere. */
  returnsIds: boolean[];
  /** Endpoint embeddings, row-major endpoints x dim, L2-normalised; undefined without an encoder. */
  embeddings: Float32Array | undefined;
  dim: number;
  /** Name of the encoder that made `embeddings` (part of cache keys). */
  encoderName: string;
}

export async function prepareCatalog(catalog: Catalog, encoder?: TextEncoder): Promise<PreparedCatalog> {
  const eps = catalog.endpoints;
  let embeddings: Float32Array | undefined;
  if (encoder) {
    // Batches bound the padded tensor size for catalogs with thousands of endpoints.
    embeddings = new Float32Array(eps.length * encoder.dim);
    const BATCH = 64;
    for (let i = 0; i < eps.length; i += BATCH) {
      const texts = eps.slice(i, i + BATCH).map(embeddingText);
      embeddings.set(await encoder.embed(texts), i * encoder.dim);
    }
  }
  const graph = buildResourceGraph(catalog);
  return {
    catalog,
    router: new PathRouter(eps, catalog.basePath),
    graph,
    lexical: buildLexicalIndex(eps),
    pathTerms: eps.map((e) => terms(e.path.split('/').filter((s) => s && !s.includes('{')).join(' '))),
    qualifierTerms: eps.map((e) => terms(graph.facts[e.index]!.qualifier ?? '')),
    returnsIds: eps.map((e) => e.responseFields.some((f) => /(^|[.\]])id$/i.test(f) || /(^|\.)[a-z]+_?id$/i.test(f))),
    embeddings,
    dim: encoder ? encoder.dim : 0,
    encoderName: encoder ? encoder.name : 'none',
  };
}

/** The text an endpoint is embedded from: what it does, in its own words. */
export function embeddingText(e: Catalog['endpoints'][number]): string {
  return endpointText(e);
}
