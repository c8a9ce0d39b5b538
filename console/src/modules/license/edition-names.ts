import type { Edition } from '@/api/types';

export const EDITION_NAMES: Record<Edition, string> = { trial: 'Trial', basic: 'Basic', pro: 'Pro', ultimate: 'Ultimate' };
