import { DomainError } from '../errors/domain-error';

export class UserError extends DomainError {
  static notFound(id: string) {
    return new UserError('not_found', 'USER_NOT_FOUND', `no user ${id}`, 'id');
  }
  static usernameTaken(username: string) {
    return new UserError('conflict', 'USERNAME_TAKEN', `a user named "${username}" exists`, 'username');
  }
  static lastAdmin() {
    return new UserError('conflict', 'LAST_ADMIN', 'the last admin cannot be removed or demoted', 'role');
  }
  static self() {
    return new UserError('conflict', 'CANNOT_DELETE_SELF', 'you cannot delete the user you are logged in as', 'id');
  }
  static tokenNotFound(id: string) {
    return new UserError('not_found', 'API_TOKEN_NOT_FOUND', `no API token ${id}`, 'id');
  }
}
