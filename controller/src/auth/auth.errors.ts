import { DomainError } from '../errors/domain-error';

export class AuthError extends DomainError {
  static badCredentials() {
    return new AuthError('unauthenticated', 'INVALID_CREDENTIALS', 'wrong username or password');
  }
  static notLoggedIn() {
    return new AuthError('unauthenticated', 'UNAUTHENTICATED', 'log in or send an API token');
  }
  static tooManyAttempts() {
    return new AuthError('rate_limited', 'TOO_MANY_ATTEMPTS', 'too many failed logins for this user from this address; wait and try again', 'password');
  }
  static badToken() {
    return new AuthError('unauthenticated', 'INVALID_TOKEN', 'the API token is unknown, revoked or expired');
  }
  static csrf() {
    return new AuthError('forbidden', 'CSRF_FAILED', 'send the pf_csrf cookie value in the x-csrf-token header', 'x-csrf-token');
  }
  static role(needed: string) {
    return new AuthError('forbidden', 'FORBIDDEN', `needs the ${needed} role`);
  }
  static scope(needed: string) {
    return new AuthError('forbidden', 'FORBIDDEN', `the API token lacks the ${needed} scope`);
  }
}
