'use client';
import { useRouter } from 'next/navigation';
import { useEffect, useState, type FormEvent } from 'react';
import { ApiError, describeError } from '@/api/api-error';
import * as auth from '@/api/auth';
import { setCsrfToken } from '@/api/http';
import styles from './login.module.css';

/** Where to go after login: the `next` the shell sent us with, if it is a path of this site. */
function nextPath(): string {
  const next = new URLSearchParams(window.location.search).get('next');
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : '/agents';
}

export function LoginForm() {
  const router = useRouter();
  const [username, setUsername] = useState('admin');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  // Someone already logged in (a bookmarked /login, say) goes straight on.
  useEffect(() => {
    auth.me().then(
      (session) => {
        setCsrfToken(session.csrfToken);
        router.replace(nextPath());
      },
      () => undefined, // not logged in: this form is the way
    );
  }, [router]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const session = await auth.login(username, password);
      setCsrfToken(session.csrfToken);
      router.replace(nextPath());
    } catch (e) {
      setError(e instanceof ApiError && e.status === 401 ? 'Wrong username or password.' : describeError(e));
      setBusy(false);
    }
  }

  return (
    <main className={styles.page}>
      <form className={`card ${styles.card}`} onSubmit={submit} aria-label="Log in">
        <div className={styles.brand}>
          <span className={styles.logo} aria-hidden>⇄</span> Portfleet
        </div>
        <p className="muted">Sign in to manage your fleet.</p>
        {error && <div className="notice notice-error" role="alert">{error}</div>}
        <label className="field">
          <span>Username</span>
          <input className="input" name="username" autoComplete="username" required
            value={username} onChange={(e) => setUsername(e.target.value)} />
        </label>
        <label className="field">
          <span>Password</span>
          <input className="input" name="password" type="password" autoComplete="current-password" required autoFocus
            value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <button className="btn btn-primary" type="submit" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </main>
  );
}
