// k6: the gRPC AutomationService (scripts' API) under read load — ListAgents page by page and
// GetActivity, authenticated with an API token in the `authorization` metadata.
//   PORTFLEET_GRPC=127.0.0.1:50051 PORTFLEET_API_TOKEN=pft_… k6 run load-tests/k6/grpc-automation.js
//   optional: VUS (20), DURATION (30s), PAGE_SIZE (100)
import { check, fail } from 'k6';
import grpc from 'k6/net/grpc';

const TARGET = __ENV.PORTFLEET_GRPC || '127.0.0.1:50051';
const TOKEN = __ENV.PORTFLEET_API_TOKEN || '';
const PAGE_SIZE = Number(__ENV.PAGE_SIZE || 100);

/** @type {import('k6/options').Options} */
export const options = {
  vus: Number(__ENV.VUS || 20),
  duration: __ENV.DURATION || '30s',
  thresholds: {
    'grpc_req_duration{method:ListAgents}': ['p(99)<50'],
    checks: ['rate>0.999'],
  },
};

const client = new grpc.Client();
client.load(['../../proto'], 'portfleet/v1/automation.proto');
const metadata = { authorization: `Bearer ${TOKEN}` };

export function setup() {
  if (!TOKEN) fail('set PORTFLEET_API_TOKEN to an API token (POST /api/api-tokens, scope read)');
}

export default function () {
  client.connect(TARGET, { plaintext: true });
  let pageToken = '';
  for (let pages = 0; pages < 10_000; pages++) {
    const res = client.invoke('portfleet.v1.AutomationService/ListAgents', { pageSize: PAGE_SIZE, pageToken }, { metadata, tags: { method: 'ListAgents' } });
    if (!check(res, { 'ListAgents OK': (r) => r.status === grpc.StatusOK })) break;
    pageToken = /** @type {{nextPageToken?: string}} */ (res.message).nextPageToken || '';
    if (!pageToken) break;
  }
  const activity = client.invoke('portfleet.v1.AutomationService/GetActivity', {}, { metadata, tags: { method: 'GetActivity' } });
  check(activity, { 'GetActivity OK': (r) => r.status === grpc.StatusOK });
  client.close();
}
