import { LOGIN_WINDOW_MS, LoginThrottle } from './login-throttle';

describe('LoginThrottle', () => {
  it('refuses the sixth try within the window, per username and address, and says how long to wait', () => {
    const t = new LoginThrottle();
    for (let i = 0; i < 5; i++) {
      t.check('admin', '1.2.3.4', 1000 + i);
      t.failed('admin', '1.2.3.4', 1000 + i);
    }
    expect(() => t.check('admin', '1.2.3.4', 2000)).toThrow(expect.objectContaining({ code: 'TOO_MANY_ATTEMPTS', retryAfterS: 899 }));
    expect(() => t.check('admin', '5.6.7.8', 2000)).not.toThrow();
    expect(() => t.check('other', '1.2.3.4', 2000)).not.toThrow();
    expect(() => t.check('admin', '1.2.3.4', 1004 + LOGIN_WINDOW_MS)).not.toThrow();
  });

  it('forgets failures after a successful login', () => {
    const t = new LoginThrottle();
    for (let i = 0; i < 5; i++) t.failed('admin', 'a', i);
    t.succeeded('admin', 'a');
    expect(() => t.check('admin', 'a', 10)).not.toThrow();
  });
});
