// The search benchmark's GraphQL calls: one query document per mode (vector, text, hybrid) and scope (named domains,
// or the God View: every domain the token reads), and the call that returns a search's hit ids.
export const SINGLE = `query Single($v: String!, $k: Int!, $domains: [String!]!) {
  search(input: { vectorBase64: $v, k: $k, domains: $domains }) { hits { distance score record { id } } }
}`;
export const SINGLE_JSON = `query SingleJson($vector: [Float!]!, $k: Int!, $domains: [String!]!) {
  search(input: { vector: $vector, k: $k, domains: $domains }) { hits { distance score record { id } } }
}`;
export const FUSED = `query Fused($v: String!, $k: Int!) {
  search(input: { vectorBase64: $v, k: $k }) { hits { distance score record { id } } }
}`;

// The same places searched by text alone (BM25; distance is null) and by text and vector together (hybrid).
export const TEXT = `query Text($t: String!, $k: Int!, $domains: [String!]!) {
  search(input: { text: $t, k: $k, domains: $domains }) { hits { distance score record { id } } }
}`;
export const HYBRID = `query Hybrid($t: String!, $v: String!, $k: Int!, $domains: [String!]!) {
  search(input: { text: $t, vectorBase64: $v, k: $k, domains: $domains }) { hits { distance score record { id } } }
}`;
export const FUSED_TEXT = `query FusedText($t: String!, $k: Int!) {
  search(input: { text: $t, k: $k }) { hits { distance score record { id } } }
}`;
export const FUSED_HYBRID = `query FusedHybrid($t: String!, $v: String!, $k: Int!) {
  search(input: { text: $t, vectorBase64: $v, k: $k }) { hits { distance score record { id } } }
}`;

export type Fetcher = (body: string, token: string) => Promise<Response>;
interface Hits { hits: { distance: number | null; score: number; record: { id: string } }[] }

/** Runs a search call and returns the hit ids; any error or short answer stops the benchmark. */
export async function searchIds(fetcher: Fetcher, body: string, token: string, k: number): Promise<string[]> {
  const res = await fetcher(body, token);
  const json = (await res.json()) as { data?: { search?: Hits }; errors?: unknown[] };
  const hits = json.data?.search?.hits;
  if (json.errors || !hits || hits.length !== k) throw new Error(`search failed (${res.status}): ${JSON.stringify(json).slice(0, 500)}`);
  return hits.map((h) => h.record.id);
}
