import { DomainError } from '../errors/domain-error';

export class AgentError extends DomainError {
  static notFound(id: string, field = 'agentId') {
    return new AgentError('not_found', 'AGENT_NOT_FOUND', `no agent ${id}`, field);
  }
  static unknownEnrollmentToken() {
    return new AgentError('unauthenticated', 'ENROLLMENT_TOKEN_UNKNOWN', 'the enrollment token is unknown; create a new one in the console', 'token');
  }
  static enrollmentTokenUsed() {
    return new AgentError('forbidden', 'ENROLLMENT_TOKEN_USED', 'the enrollment token was already used; each token enrolls one host', 'token');
  }
  static enrollmentTokenExpired() {
    return new AgentError('forbidden', 'ENROLLMENT_TOKEN_EXPIRED', 'the enrollment token has expired; create a new one', 'token');
  }
  static offline(id: string) {
    return new AgentError('precondition', 'AGENT_OFFLINE', `agent ${id} is not connected; try again when it is online`, 'agentId');
  }
  static timeout(id: string) {
    return new AgentError('timeout', 'AGENT_TIMEOUT', `agent ${id} did not answer within 15 s`, 'agentId');
  }
  /** A presence batch the database did not take: the stream ends with UNAVAILABLE and the agent reconnects. */
  static presenceUnavailable() {
    return new AgentError('unavailable', 'AGENT_STATE_UNAVAILABLE', 'the controller could not read or store the agent\'s state now (database unavailable); reconnect later');
  }
  static badCredential() {
    return new AgentError('unauthenticated', 'AGENT_CREDENTIAL_INVALID', 'unknown or revoked agent credential; send authorization: Bearer <agentId>.<credential>', 'authorization');
  }
}
