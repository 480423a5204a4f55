/**
 * Structured JSON logs (pino). Every request line carries its request id; prompt text
 * is never logged unless OPENSESAME_LOG_PROMPTS is on and the level is debug.
 */
import pino from 'pino';

export type Logger = pino.Logger;

/** `destination`: where the JSON lines go (default stdout); tests pass a stream to read them. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'opensesame-predictor' },
    // Belt and braces: these keys never reach a log line even if passed by mistake.
    redact: { paths: ['apiKey', '*.apiKey', 'headers.authorization', 'headers["x-api-key"]'], remove: true },
  };
  return destination ? pino(options, destination) : pino(options);
}
