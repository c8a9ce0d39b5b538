import { request } from './http';
import type { License } from './types';

export const getLicense = () => request<License>('GET', '/api/license');

export const activateLicense = (key: string) => request<License>('POST', '/api/license', { key });
