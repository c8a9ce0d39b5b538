import type { FieldError } from '@portfleet/proto';
import { DomainError, fromFieldErrors } from '../errors/domain-error';

export class RuleSetError extends DomainError {
  static notFound(id: string) {
    return new RuleSetError('not_found', 'RULE_SET_NOT_FOUND', `no rule set ${id}`, 'ruleSetId');
  }
  static versionNotFound(id: string, version: number) {
    return new RuleSetError('not_found', 'VERSION_NOT_FOUND', `rule set ${id} has no version ${version}`, 'version');
  }
  static ruleNotFound(ruleId: string) {
    return new RuleSetError('not_found', 'RULE_NOT_FOUND', `no rule ${ruleId} in the latest version`, 'ruleId');
  }
  static nameTaken(name: string) {
    return new RuleSetError('conflict', 'NAME_TAKEN', `a rule set named "${name}" exists`, 'name');
  }
  static orderMismatch(message: string) {
    return new RuleSetError('validation', 'ORDER_MISMATCH', message, 'ruleIds');
  }
  /** Field paths are relative to the rule in the request (`selector.localPort`). */
  static invalidRule(errors: readonly FieldError[]) {
    return fromFieldErrors('validation', 'VALIDATION_FAILED', errors);
  }
  static edition(errors: readonly FieldError[]) {
    return fromFieldErrors('edition', errors[0]?.code ?? 'FEATURE_NOT_IN_EDITION', errors);
  }
}
