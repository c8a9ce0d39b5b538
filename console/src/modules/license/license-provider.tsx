'use client';
import { createContext, useContext, type ReactNode } from 'react';
import { getLicense } from '@/api/license';
import type { License } from '@/api/types';
import { useLive } from '@/modules/live/use-live';

interface LicenseValue {
  license: License | undefined;
  refresh: () => Promise<void>;
}

const LicenseContext = createContext<LicenseValue>({ license: undefined, refresh: async () => undefined });

/** The fleet's license for every view (edition gates in the editor, the watermark banner). */
export function LicenseProvider({ children }: { children: ReactNode }) {
  const state = useLive(getLicense, ['license']);
  return <LicenseContext.Provider value={{ license: state.data, refresh: state.refresh }}>{children}</LicenseContext.Provider>;
}

export function useLicense(): LicenseValue {
  return useContext(LicenseContext);
}
