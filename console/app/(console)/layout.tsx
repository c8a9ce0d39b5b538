import type { ReactNode } from 'react';
import { LicenseProvider } from '@/modules/license/license-provider';
import { EventsProvider } from '@/modules/live/events-provider';
import { SessionProvider } from '@/modules/session/session-provider';
import { AppShell } from '@/modules/shell/app-shell';

export default function ConsoleLayout({ children }: { children: ReactNode }) {
  return (
    <SessionProvider>
      <EventsProvider>
        <LicenseProvider>
          <AppShell>{children}</AppShell>
        </LicenseProvider>
      </EventsProvider>
    </SessionProvider>
  );
}
