'use client';
import { usePathname, useRouter } from 'next/navigation';
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { ApiError } from '@/api/api-error';
import * as auth from '@/api/auth';
import { setCsrfToken, setUnauthorizedHandler } from '@/api/http';
import type { User } from '@/api/types';
import { ErrorNotice } from '@/ui/error-notice';
import { Loading } from '@/ui/loading';

interface SessionValue {
  user: User;
  /** Operators and admins change things; viewers only look. */
  canEdit: boolean;
  logout: () => Promise<void>;
}

const SessionContext = createContext<SessionValue | null>(null);

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside <SessionProvider>');
  return value;
}

/** Holds the logged-in user for the app shell; no session (401) sends the browser to /login. */
export function SessionProvider({ children }: { children: ReactNode }) {
  const router = useRouter();
  const pathname = usePathname();
  const [user, setUser] = useState<User | null>(null);
  const [error, setError] = useState<unknown>();

  const toLogin = useCallback(() => {
    setCsrfToken(null);
    router.replace(`/login?next=${encodeURIComponent(pathname)}`);
  }, [router, pathname]);

  const load = useCallback(async () => {
    setError(undefined);
    try {
      const session = await auth.me();
      setCsrfToken(session.csrfToken);
      setUser(session.user);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) toLogin();
      else setError(e);
    }
  }, [toLogin]);

  useEffect(() => {
    setUnauthorizedHandler(toLogin);
    return () => setUnauthorizedHandler(null);
  }, [toLogin]);

  useEffect(() => {
    void load();
    // Only on entry: later 401s arrive through the unauthorized handler.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const logout = useCallback(async () => {
    try {
      await auth.logout();
    } finally {
      setCsrfToken(null);
      router.replace('/login');
    }
  }, [router]);

  if (error) return <div style={{ padding: 24 }}><ErrorNotice error={error} retry={() => void load()} /></div>;
  if (!user) return <Loading label="Checking your session…" />;
  return (
    <SessionContext.Provider value={{ user, canEdit: user.role !== 'viewer', logout }}>{children}</SessionContext.Provider>
  );
}
