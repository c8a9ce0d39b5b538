import type { FieldError } from '@portfleet/proto';
import { DomainError, fromFieldErrors } from '../errors/domain-error';

export class LicenseError extends DomainError {
  /** The key is malformed, forged/altered or expired (codes from verifyLicenseKey). */
  static invalidKey(errors: readonly FieldError[]) {
    return fromFieldErrors('validation', errors[0]?.code ?? 'INVALID_LICENSE_FORMAT', errors);
  }
  static required() {
    return new LicenseError('edition', 'LICENSE_REQUIRED', 'the trial or license has expired: activate a serial key (Basic keys are free)', 'license');
  }
  static agentUnlicensed(agentName: string, agentId: string, field: string) {
    return new LicenseError('edition', 'AGENT_UNLICENSED', `agent "${agentName}" (${agentId}) holds no license seat: all seats are taken by older agents; retire one or activate a key with more seats`, field);
  }
}
