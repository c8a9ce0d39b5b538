import type { ReactNode } from 'react';
import { SessionProvider } from '@/modules/session/session-provider';
import { AppShell } from '@/modules/shell/app-shell';

export default function ConsoleLayout({ children }: { children: ReactNode }) {
  return (
    <SessionProvider>
      <AppShell>{children}</AppShell>
    </SessionProvider>
  );
}
