import { DomainError } from '../errors/domain-error';

export class PushError extends DomainError {
  static notFound(id: string) {
    return new PushError('not_found', 'PUSH_NOT_FOUND', `no push ${id}`, 'id');
  }
  static noTargets() {
    return new PushError('validation', 'REQUIRED', 'choose at least one agent', 'agentIds');
  }
}
