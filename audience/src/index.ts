/**
 * Audience feedback for a live talk: emoji reactions, a "how do you feel" slider and Q&A, kept in
 * Highlander objects. A `talk` object per session (the aggregate, the truth), a `qna` object per
 * session (questions, votes, moderation), an `attendee` object
 * per participant (a lazy mirror, for the cluster map), and a gateway per node that the audience
 * connects to over ws and that batches their feedback into the talks.
 *
 * ```ts
 * import { AudienceGateway, audienceObjects, Talk } from '@highlander/audience';
 *
 * const node = HighlanderNode.create({ name: 'node-a', coordinator, store, objects: [...myObjects, ...audienceObjects] });
 * await node.start();
 * const gateway = await AudienceGateway.start(node, { port: 8081 });
 * await node.ref(Talk, 'ABCDE').call('create', { title: 'There can be only one' });
 * // the audience opens `${gateway.url}/a/ABCDE`; the presenter reads:
 * const view = await node.ref(Talk, 'ABCDE').call('snapshot', { sinceReaction: 0 });
 * await gateway.close(); // before node.stop()
 * ```
 */
export { AudienceGateway } from './gateway.js';
export { GATEWAY_DEFAULTS, compileGatewayOptions } from './gateway-options.js';
export type { AudienceGatewayOptions } from './gateway-options.js';
export { AudienceMetrics } from './gateway-metrics.js';
export { Attendee, MAX_BATCH_POSITIONS, MAX_BATCH_REACTIONS, MAX_PARTICIPANTS, MAX_TITLE_LENGTH, Talk, audienceObjects, positionStats } from './objects.js';
export type {
  ApplyResult, AttendeeState, Reaction, TalkAggregates, TalkBatch, TalkExport, TalkLookup, TalkSnapshot, TalkState, TimelinePoint,
} from './objects.js';
export { MAX_QNA_BATCH_OPS, MAX_QUESTIONS, MAX_VOTES, MODERATION_ACTIONS, Qna } from './qna.js';
export type {
  ModerationAction, ParticipantQna, PresenterQuestion, QnaApplyResult, QnaBatch, QnaExport, QnaExportQuestion, QnaOp, QnaOpResult, QnaPresenterView,
  QnaPublicView, QnaRefusal, QnaState,
} from './qna.js';
export {
  CODE_ALPHABET, CODE_PATTERN, CURATED_EMOJI, DEVICE_PATTERN, PSEUDONYM_PATTERN, REJECTION_REASONS, attendeeId, devicePseudonym, isCuratedEmoji, isDeviceId,
  MAX_QUESTION_LENGTH, MIN_QUESTION_LENGTH, cleanQuestion, newTalkCode, newTalkSecret, normalizeCode, parseClientMessage,
} from './protocol.js';
export type { ClientMessage, PublicQuestion, QuestionStatus, QuestionsMessage, RejectionReason, ServerMessage, TalkStatus, WelcomeMessage } from './protocol.js';
