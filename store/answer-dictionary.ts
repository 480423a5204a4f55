/**
 * The shared LZ4 dictionary of the `predictions` database (schema version 3).
 *
 * A cached answer is ~1.6 KB of JSON of which most is the same from one answer to the
 * next: the field names, the metadata block, the usual values. LZ4 on its own can only
 * refer back within the record it is compressing; with a dictionary it can also refer
 * to this text, which holds the fields in the order the service writes them. Measured on
 * 3,000 answers each (bench-style unique prompts): 1.39 KB per stored answer with
 * lmdb-js's own default dictionary, 0.5 KB with this one, for the spec it was written
 * from (saas) and for the others alike. Under a stream of unique prompts the cache's
 * pages are a large part of the server's resident memory, so this is memory as well as
 * disk.
 *
 * THE BYTES ARE PART OF THE ON-DISK FORMAT. A record compressed against one dictionary
 * does not decompress against another, so this text must not change within a schema
 * version: changing it means bumping SCHEMA_VERSION (whose migration clears the caches).
 * test/store.test.ts pins its hash to the schema version.
 *
 * Only field names and typical values are here; nothing depends on the text matching the
 * current response shape, which may drift (the compression just gets a little worse).
 */

const PREDICTION_WITH_HISTORY =
  '{"api_call":"GET /projects/{project_id}/tasks","method":"GET","description":"List tasks in a project",' +
  '"parameters":{"project_id":"","status":"open"},"confidence":0.5,"ml_ranking_score":1.5,"rank":1,' +
  '"ai_provider":"anthropic","reasoning":"The user asked for the open tasks of the project they just created.",' +
  '"semantic_similarity":0.5,"safety_validated":true,"cold_start_prediction":false,"sensitive":"admin"}';

const COLD_START_PREDICTIONS = [
  ['GET /search/tasks', 'GET', 'Search tasks'],
  ['POST /users', 'POST', 'Create a user'],
  ['PATCH /users/{user_id}', 'PATCH', 'Update a user'],
  ['DELETE /teams/{team_id}/members/{member_id}', 'DELETE', 'Remove a member from a team'],
  ['PUT /projects/{id}', 'PUT', 'Replace a project'],
]
  .map(
    ([call, method, description], i) =>
      `{"api_call":"${call}","method":"${method}","description":"${description}","parameters":{},"confidence":0.0${i + 1}84,` +
      `"ml_ranking_score":-1.1007,"rank":${i + 2},"ai_provider":"ml_ranker","semantic_similarity":0.2417,"safety_validated":true,"cold_start_prediction":true}`,
  )
  .join(',');

const LLM_ROUTING =
  '"processing_method":"ml_ranker+llm_rrf","stage":"final","ai_provider":"anthropic",' +
  '"cost_aware_routing":{"enabled":true,"status":"ok","provider":"openai","model_tier":"balanced","model_name":"claude-haiku-4-5",' +
  '"estimated_cost_usd":0.0004,"actual_cost_usd":0.0003,"daily_budget_usd":10,"budget_utilization":0.01,"cost_warning":false,"emergency_mode":false},' +
  '"status":"deadline","reason":"llm deadline passed",';

const ANSWER_TEXT =
  `{${LLM_ROUTING}"predictions":[${PREDICTION_WITH_HISTORY},${COLD_START_PREDICTIONS}],` +
  '"confidence_scores":[0.7808,0.1541,0.0288,0.0184,0.0178],' +
  '"metadata":{"spec_id":"saas","model_version":"ranker-2026-11-28-","request_id":' +
  '"cold_start_analysis":{"has_history":true,"resolved_history":1,"unmatched_history":["GET /unknown"],"fallback_method":"none"},' +
  '"cold_start_analysis":{"has_history":false,"resolved_history":0,"unmatched_history":[],"fallback_method":"prompt_only"},' +
  '"processing_method":"ml_ranker","stage":"final","ai_provider":"ml_ranker",' +
  '"safety_validation":{"input_validated":true,"output_filtered":true,"blocked_predictions":0,"security_checks_passed":true},' +
  '"cost_aware_routing":{"enabled":false,"reason":"no LLM provider configured"},' +
  '"performance_metrics":{"llm_latency_ms":null,"ml_scoring_latency_ms":2.6492,"embedding_latency_ms":0.2497,"pipeline_latency_ms":4.721,' +
  '"cache_hit":,"embedding_cache_hit":false,"candidates_generated":60,"candidates_ranked":7}}';

/** The dictionary bytes (UTF-8). */
export const ANSWER_DICTIONARY: Buffer = Buffer.from(ANSWER_TEXT, 'utf8');
