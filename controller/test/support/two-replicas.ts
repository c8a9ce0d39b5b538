import type { AgentServiceClient as AgentClient } from '@portfleet/proto/gen/agent';
import { agentClient } from './grpc-clients';
import { simAgent, type SimAgent } from './sim-agent';
import { HttpClient, startTestController, type TestController } from './test-controller';

/** Two controller replicas on one PostgreSQL, each with an admin session and an agent client. */
export interface TwoReplicas {
  a: TestController;
  b: TestController;
  adminA: HttpClient;
  adminB: HttpClient;
  grpcA: AgentClient;
  grpcB: AgentClient;
  /** A connected, welcomed agent enrolled through `admin`, closed by `stop`. */
  connect(admin: HttpClient, grpc: AgentClient, name: string): Promise<SimAgent>;
  stop(): Promise<void>;
}

export async function startTwoReplicas(): Promise<TwoReplicas> {
  const a = await startTestController();
  const b = await startTestController({ databaseUrl: a.databaseUrl });
  const grpcA = agentClient(a.grpcAddress);
  const grpcB = agentClient(b.grpcAddress);
  const live: SimAgent[] = [];
  return {
    a,
    b,
    adminA: await HttpClient.login(a.httpUrl),
    adminB: await HttpClient.login(b.httpUrl),
    grpcA,
    grpcB,
    async connect(admin, grpc, name) {
      const agent = await simAgent(admin, grpc, name);
      live.push(agent);
      return agent;
    },
    async stop() {
      live.forEach((x) => x.conn.close());
      grpcA.close();
      grpcB.close();
      await b.shutdown();
      await a.shutdown();
    },
  };
}
