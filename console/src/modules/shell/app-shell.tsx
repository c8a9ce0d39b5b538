'use client';
import Link from 'next/link';
import { usePathname } from 'next/navigation';
import type { ReactNode } from 'react';
import { WatermarkBanner } from '@/modules/license/watermark-banner';
import { LiveStatus } from '@/modules/live/live-status';
import { useSession } from '@/modules/session/session-provider';
import styles from './app-shell.module.css';

const NAV: { href: string; label: string; icon: string; adminOnly?: boolean }[] = [
  { href: '/agents', label: 'Agents', icon: '▦' },
  { href: '/rules', label: 'Rules', icon: '≡' },
  { href: '/pushes', label: 'Pushes', icon: '↗' },
  { href: '/licenses', label: 'License', icon: '✦' },
  { href: '/audit', label: 'Audit log', icon: '☰', adminOnly: true },
  { href: '/tokens', label: 'API tokens', icon: '#', adminOnly: true },
  { href: '/users', label: 'Users', icon: '☺', adminOnly: true },
];

export function AppShell({ children }: { children: ReactNode }) {
  const pathname = usePathname();
  const { user, logout } = useSession();

  return (
    <div className={styles.shell}>
      <aside className={styles.sidebar}>
        <Link href="/agents" className={styles.brand}>
          <span className={styles.logo} aria-hidden>⇄</span>
          <span>Portfleet</span>
        </Link>
        <nav className={styles.nav} aria-label="Main">
          {NAV.filter((item) => !item.adminOnly || user.role === 'admin').map((item) => {
            const active = pathname === item.href || pathname.startsWith(`${item.href}/`);
            return (
              <Link key={item.href} href={item.href} className={active ? `${styles.link} ${styles.active}` : styles.link}
                aria-current={active ? 'page' : undefined}>
                <span className={styles.icon} aria-hidden>{item.icon}</span>
                {item.label}
              </Link>
            );
          })}
        </nav>
        <LiveStatus />
        <div className={styles.user}>
          <div className={styles.who}>
            <span className={styles.avatar} aria-hidden>{user.username.slice(0, 1).toUpperCase()}</span>
            <span>
              <span className={styles.name}>{user.username}</span>
              <span className={styles.role}>{user.role}</span>
            </span>
          </div>
          <button type="button" className={styles.logout} onClick={() => void logout()}>Log out</button>
        </div>
      </aside>
      <main className={styles.main}>
        <WatermarkBanner />
        {children}
      </main>
    </div>
  );
}
