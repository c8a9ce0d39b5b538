import { DomainError } from '../errors/domain-error';

export class PushError extends DomainError {
  static notFound(id: string) {
    return new PushError('not_found', 'PUSH_NOT_FOUND', `no push ${id}`, 'id');
  }
  static noTargets() {
    return new PushError('validation', 'REQUIRED', 'choose at least one agent (agentIds, groups or labels)', 'agentIds');
  }
  static nothingToRetry() {
    return new PushError('precondition', 'NOTHING_TO_RETRY', 'no target of this push has failed', 'id');
  }
  static noPreviousVersion() {
    return new PushError('precondition', 'NO_PREVIOUS_VERSION', 'version 1 has no previous version; give one in `version`', 'version');
  }
  static notHalted(status: string) {
    return new PushError('precondition', 'NOT_HALTED', `the push is ${status}, not halted`, 'id');
  }
  /** The database could not take the push's transaction in time: nothing was stored; try again. */
  static busy(reason: string) {
    const err = new PushError('rate_limited', 'PUSHES_BUSY', `the controller is too busy to record this now, nothing was changed; retry shortly (${reason.split('\n').pop()?.trim()})`);
    err.retryAfterS = 5;
    return err;
  }
  /** An ack batch the database did not take: the stream ends with UNAVAILABLE; the agent's next Hello reports what it applied. */
  static ackUnstored() {
    return new PushError('unavailable', 'ACK_NOT_STORED', 'the answer could not be stored now (database unavailable); reconnect, and the Hello reports what was applied');
  }
  /** A catch-up batch that failed (the database unavailable): the stream ends with UNAVAILABLE and the agent says Hello again. */
  static catchUpFailed() {
    return new PushError('unavailable', 'CATCH_UP_FAILED', 'the pushes due to this agent could not be read or sent now (database unavailable); reconnect later');
  }
  static notRunning(status: string) {
    return new PushError('precondition', 'NOT_RUNNING', `the push is already ${status}`, 'id');
  }
}
