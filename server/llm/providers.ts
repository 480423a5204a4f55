/**
 * Thin wrappers around the two SDK clients. Each client is created once per provider with
 * `maxRetries: 0` (retry and fallback policy live in index.ts, where the deadline is
 * known) and an explicit baseURL (so the SDK never reads its own environment variables).
 * Every call carries an AbortSignal bound to the caller's remaining deadline.
 *
 * Errors are normalised to a `ProviderError` with a small set of kinds; the message never
 * contains an API key (see `scrubSecrets`).
 */
import Anthropic, * as AnthropicSdk from '@anthropic-ai/sdk';
import OpenAI, * as OpenAISdk from 'openai';
import { DEFAULT_BASE_URLS, type LlmConfig, type ProviderName } from './config';
import { SCHEMA_NAME, TOOL_NAME, type PreparedRequest } from './prompt';

export type ProviderErrorKind = 'timeout' | 'rate_limited' | 'server' | 'client' | 'malformed';

/** A failed provider call, normalised. The message is safe to log. */
export class ProviderError extends Error {
  constructor(
    readonly provider: ProviderName,
    readonly kind: ProviderErrorKind,
    message: string,
    /** HTTP status when the provider answered. */
    readonly status?: number,
    /** Server-requested wait before retrying (from `retry-after-ms` or `retry-after`). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

export interface ProviderUsage {
  inputTokens: number;
  outputTokens: number;
}

/** What a provider answered. `raw` is the decoded structured answer, undefined when absent or not JSON. */
export interface ProviderAnswer {
  raw: unknown;
  /** Undefined when the server reported no usage (some compatible servers); callers estimate. */
  usage: ProviderUsage | undefined;
}

export interface CallOptions {
  /** Aborts the HTTP request (deadline or caller cancellation). */
  signal: AbortSignal;
  /** Remaining time; also given to the SDK as its per-request timeout. */
  timeoutMs: number;
}

export interface LlmProvider {
  readonly name: ProviderName;
  /** Resolves with the answer or rejects with a ProviderError. */
  call(req: PreparedRequest, model: string, opts: CallOptions): Promise<ProviderAnswer>;
}

const KEY_PATTERN = /\b(sk-[A-Za-z0-9_-]{8,}|sk-ant-[A-Za-z0-9_-]{8,})/g;

/**
 * Remove secrets from a string: every occurrence of a configured key, and anything that
 * looks like an Anthropic/OpenAI key. Used on every message that can reach a log.
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
  return out.replace(KEY_PATTERN, '[redacted]');
}

/** Milliseconds from `retry-after-ms` or `retry-after` (seconds or HTTP date); undefined when absent. */
export function parseRetryAfter(headers: { get(name: string): string | null } | undefined, now = Date.now()): number | undefined {
  if (!headers || typeof headers.get !== 'function') return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms !== '') {
    const v = Number.parseFloat(ms);
    if (Number.isFinite(v) && v >= 0) return v;
  }
  const ra = headers.get('retry-after');
  if (ra === null || ra === '') return undefined;
  const secs = Number(ra);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const at = Date.parse(ra);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

interface ErrorClasses {
  APIError: abstract new (...a: never[]) => Error;
  APIUserAbortError: abstract new (...a: never[]) => Error;
  APIConnectionError: abstract new (...a: never[]) => Error;
  APIConnectionTimeoutError: abstract new (...a: never[]) => Error;
}

function normaliseError(provider: ProviderName, err: unknown, signal: AbortSignal, classes: ErrorClasses, secrets: readonly string[]): ProviderError {
  const safe = (m: string): string => scrubSecrets(m, secrets).slice(0, 200);
  const detail = err instanceof Error ? err.message : String(err);
  if (signal.aborted || err instanceof classes.APIUserAbortError || err instanceof classes.APIConnectionTimeoutError) {
    return new ProviderError(provider, 'timeout', `${provider}: request timed out`);
  }
  if (err instanceof classes.APIConnectionError) {
    // A refused or reset connection is as transient as a 5xx.
    return new ProviderError(provider, 'server', `${provider}: connection error: ${safe(detail)}`);
  }
  if (err instanceof classes.APIError) {
    const e = err as Error & { status?: number; headers?: { get(n: string): string | null } };
    const status = typeof e.status === 'number' ? e.status : undefined;
    if (status === 429) {
      return new ProviderError(provider, 'rate_limited', `${provider}: rate limited (429)`, 429, parseRetryAfter(e.headers));
    }
    if (status !== undefined && (status >= 500 || status === 408)) {
      return new ProviderError(provider, 'server', `${provider}: server error (${status})`, status, parseRetryAfter(e.headers));
    }
    if (status !== undefined) return new ProviderError(provider, 'client', `${provider}: request rejected (${status}): ${safe(detail)}`, status);
  }
  // Anything else (an unparseable body, an unexpected shape thrown from the SDK) means the
  // server did not speak the protocol.
  return new ProviderError(provider, 'malformed', `${provider}: malformed response: ${safe(detail)}`);
}

class AnthropicProvider implements LlmProvider {
  readonly name = 'anthropic' as const;
  private readonly client: Anthropic;
  private readonly classes: ErrorClasses = AnthropicSdk;

  constructor(
    private readonly cfg: Readonly<LlmConfig>,
    private readonly secrets: readonly string[],
  ) {
    this.client = new Anthropic({
      apiKey: cfg.anthropic.apiKey,
      baseURL: cfg.anthropic.baseURL ?? DEFAULT_BASE_URLS.anthropic,
      maxRetries: 0,
      logLevel: 'off',
    });
  }

  async call(req: PreparedRequest, model: string, opts: CallOptions): Promise<ProviderAnswer> {
    let msg: Anthropic.Messages.Message;
    try {
      msg = await this.client.messages.create(
        {
          model,
          max_tokens: this.cfg.maxOutputTokens,
          system: req.system,
          messages: [{ role: 'user', content: req.user }],
          tools: [
            {
              name: TOOL_NAME,
              description: 'Report the chosen endpoints, most likely first.',
              input_schema: req.toolSchema as Anthropic.Messages.Tool.InputSchema,
            },
          ],
          tool_choice: { type: 'tool', name: TOOL_NAME, disable_parallel_tool_use: true },
          ...(this.cfg.temperature !== undefined ? { temperature: this.cfg.temperature } : {}),
        },
        { signal: opts.signal, timeout: Math.max(1, Math.ceil(opts.timeoutMs)) },
      );
    } catch (err) {
      throw normaliseError(this.name, err, opts.signal, this.classes, this.secrets);
    }
    const content: unknown = (msg as { content?: unknown }).content;
    const block = Array.isArray(content)
      ? (content as { type?: unknown; name?: unknown; input?: unknown }[]).find((b) => b?.type === 'tool_use' && b.name === TOOL_NAME)
      : undefined;
    const u = (msg as { usage?: { input_tokens?: unknown; output_tokens?: unknown } }).usage;
    return { raw: block?.input, usage: toUsage(u?.input_tokens, u?.output_tokens) };
  }
}

class OpenAIProvider implements LlmProvider {
  readonly name = 'openai' as const;
  private readonly client: OpenAI;
  private readonly classes: ErrorClasses = OpenAISdk;

  constructor(
    private readonly cfg: Readonly<LlmConfig>,
    private readonly secrets: readonly string[],
  ) {
    this.client = new OpenAI({
      apiKey: cfg.openai.apiKey,
      baseURL: cfg.openai.baseURL ?? DEFAULT_BASE_URLS.openai,
      organization: null,
      project: null,
      maxRetries: 0,
      logLevel: 'off',
    });
  }

  async call(req: PreparedRequest, model: string, opts: CallOptions): Promise<ProviderAnswer> {
    let res: OpenAISdk.OpenAI.Chat.ChatCompletion;
    try {
      res = await this.client.chat.completions.create(
        {
          model,
          messages: [
            { role: 'system', content: req.system },
            { role: 'user', content: req.user },
          ],
          response_format: { type: 'json_schema', json_schema: { name: SCHEMA_NAME, strict: true, schema: req.jsonSchema } },
          // max_tokens rather than max_completion_tokens: every OpenAI-compatible server
          // (vLLM, llama.cpp, Ollama) understands it, and the GPT-4.1 family accepts it.
          max_tokens: this.cfg.maxOutputTokens,
          ...(this.cfg.temperature !== undefined ? { temperature: this.cfg.temperature } : {}),
        },
        { signal: opts.signal, timeout: Math.max(1, Math.ceil(opts.timeoutMs)) },
      );
    } catch (err) {
      throw normaliseError(this.name, err, opts.signal, this.classes, this.secrets);
    }
    const choices: unknown = (res as { choices?: unknown }).choices;
    const content = Array.isArray(choices) ? (choices[0] as { message?: { content?: unknown } } | undefined)?.message?.content : undefined;
    let raw: unknown;
    if (typeof content === 'string') {
      try {
        raw = JSON.parse(content);
      } catch {
        raw = undefined;
      }
    }
    const u = (res as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } }).usage;
    return { raw, usage: toUsage(u?.prompt_tokens, u?.completion_tokens) };
  }
}

function toUsage(input: unknown, output: unknown): ProviderUsage | undefined {
  if (typeof input !== 'number' || typeof output !== 'number' || !(input >= 0) || !(output >= 0)) return undefined;
  return { inputTokens: input, outputTokens: output };
}

/** Providers that have an API key, in fallback order (Anthropic first). */
export function createProviders(cfg: Readonly<LlmConfig>): LlmProvider[] {
  const secrets = [cfg.anthropic.apiKey, cfg.openai.apiKey].filter((k): k is string => typeof k === 'string' && k !== '');
  const out: LlmProvider[] = [];
  if (cfg.anthropic.apiKey) out.push(new AnthropicProvider(cfg, secrets));
  if (cfg.openai.apiKey) out.push(new OpenAIProvider(cfg, secrets));
  return out;
}
