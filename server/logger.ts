/**
 * Structured JSON logs (pino). Every request line carries its request id; prompt text
 * is never logged unless OPENSESAME_LOG_PROMPTS is on and the level is debug.
 */
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'opensesame-predictor' },
    // Belt and braces: these keys never reach a log line even if passed by mistake.
    redact: { paths: ['apiKey', '*.apiKey', 'headers.authorization', 'headers["x-api-key"]'], remove: true },
  });
}
