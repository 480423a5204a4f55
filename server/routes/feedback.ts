/**
 * POST /feedback: observed call sequences. Each event is checked on its own; if any is
 * bad the request is refused with one reason per bad event and nothing is stored, so a
 * client never has to guess which part of a batch landed.
 */
import type { ServerContext } from '../app';
import { ApiError, Errors } from '../errors';
import { check, describeErrors, validateFeedback, validateFeedbackEvent } from '../schemas';
import type { HttpRequest } from '../uws-adapter';
import { jsonBody, rateLimit } from './common';
import { hashUserId } from '../privacy';

export function registerFeedbackRoutes(ctx: ServerContext): void {
  ctx.http.route(
    'post',
    '/feedback',
    async (req: HttpRequest) => {
      const limitHeaders = rateLimit(ctx, req);
      const body = check(validateFeedback, jsonBody(req));
      const specId = body.spec_id ?? ctx.config.defaultSpec;
      const router = ctx.specs.router(specId);
      if (!router) throw Errors.specNotFound(specId);
      const catalog = ctx.specs.get(specId)!.catalog;
      const problems: { index: number; reason: string }[] = [];
      const calls: string[] = [];
      body.events.forEach((ev, index) => {
        if (!validateFeedbackEvent(ev)) {
          problems.push({ index, reason: describeErrors(validateFeedbackEvent.errors) });
          return;
        }
        const e = ev as { api_call: string; method?: string };
        const m = router.resolve(e.api_call, e.method);
        if (!m) {
          problems.push({ index, reason: 'api_call matches no endpoint of the spec' });
          return;
        }
        calls.push(catalog.endpoints[m.endpoint]!.id);
      });
      if (problems.length) {
        const err = Errors.validation(`${problems.length} of ${body.events.length} events are invalid`);
        throw new ApiError(err.code, err.status, err.message, { events: problems });
      }
      await ctx.store.transitions.addSequence(specId, calls);
      // Session ids are client-chosen and may identify a person: stored hashed, like user ids.
      const sessionId = body.session_id === undefined ? undefined : hashUserId(body.session_id, ctx.config.hashSalt);
      await ctx.store.trainingLog.append({ sessionId, specId, calls, at: Date.now() });
      return { status: 202, body: { accepted: calls.length, spec_id: specId, transitions_version: ctx.store.transitions.version(specId) }, headers: limitHeaders };
    },
    { body: true },
  );
}
