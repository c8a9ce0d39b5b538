// k6: the controller's HTTP API under read load — agent listing page by page (the bench:api
// path), one agent, rule sets, activity totals. Authenticated with an API token (read scope).
//   PORTFLEET_HTTP=http://127.0.0.1:8080 PORTFLEET_API_TOKEN=pft_… k6 run load-tests/k6/http-api.js
//   optional: VUS (20), DURATION (30s), PAGE_SIZE (100)
import { check, fail } from 'k6';
import http from 'k6/http';
import { Trend } from 'k6/metrics';

const BASE = __ENV.PORTFLEET_HTTP || 'http://127.0.0.1:8080';
const TOKEN = __ENV.PORTFLEET_API_TOKEN || '';
const PAGE_SIZE = Number(__ENV.PAGE_SIZE || 100);

/** @type {import('k6/options').Options} */
export const options = {
  vus: Number(__ENV.VUS || 20),
  duration: __ENV.DURATION || '30s',
  thresholds: {
    // issue 10: 2000 rps at p99 ≤ 50 ms for the agent listing
    'http_req_duration{name:agents-page}': ['p(99)<50'],
    http_req_failed: ['rate<0.001'],
    checks: ['rate>0.999'],
  },
};

const pageMs = new Trend('agents_page_ms', true);
const params = (/** @type {string} */ name) => ({ headers: { authorization: `Bearer ${TOKEN}` }, tags: { name } });

export function setup() {
  if (!TOKEN) fail('set PORTFLEET_API_TOKEN to an API token (POST /api/api-tokens, scope read)');
  const res = http.get(`${BASE}/api/agents?limit=${PAGE_SIZE}`, params('agents-page'));
  if (res.status !== 200) fail(`GET /api/agents: ${res.status} ${res.body}`);
  const body = /** @type {{agents: Array<{id: string}>}} */ (res.json());
  return { sampleAgentId: body.agents.length > 0 ? body.agents[0].id : null };
}

/** Walks the agent listing from the first page to the last (cursor paging), checking every page. */
function listAllAgents() {
  let url = `${BASE}/api/agents?limit=${PAGE_SIZE}`;
  for (let pages = 0; pages < 10_000; pages++) {
    const res = http.get(url, params('agents-page'));
    pageMs.add(res.timings.duration);
    const ok = check(res, {
      'agents page 200': (r) => r.status === 200,
      'page within limit': (r) => /** @type {{agents: unknown[]}} */ (r.json()).agents.length <= PAGE_SIZE,
    });
    if (!ok) return;
    const body = /** @type {{nextCursor?: string}} */ (res.json());
    if (!body.nextCursor) return;
    url = `${BASE}/api/agents?limit=${PAGE_SIZE}&cursor=${encodeURIComponent(body.nextCursor)}`;
  }
}

/** @param {{sampleAgentId: string | null}} data */
export default function (data) {
  listAllAgents();
  if (data.sampleAgentId) {
    check(http.get(`${BASE}/api/agents/${data.sampleAgentId}`, params('agent')), { 'agent 200': (r) => r.status === 200 });
  }
  check(http.get(`${BASE}/api/rule-sets`, params('rule-sets')), { 'rule sets 200': (r) => r.status === 200 });
  check(http.get(`${BASE}/api/activity`, params('activity')), { 'activity 200': (r) => r.status === 200 });
}
