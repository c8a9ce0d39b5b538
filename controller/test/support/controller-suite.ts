/**
 * What the gRPC-and-HTTP controller suites start from: a controller on its own database, an admin
 * session, both gRPC clients, a direct database connection and an automation token.
 */
import type { AgentServiceClient } from '@portfleet/proto/gen/agent';
import type { AutomationServiceClient } from '@portfleet/proto/gen/automation';
import { Client } from 'pg';
import { agentClient, automationClient, bearerMetadata } from './grpc-clients';
import type { SimAgent } from './sim-agent';
import { HttpClient, startTestController, type TestController } from './test-controller';

export interface ControllerSuite {
  controller: TestController;
  admin: HttpClient;
  agents: AgentServiceClient;
  automation: AutomationServiceClient;
  db: Client;
  /** Bearer metadata of an API token named `tokenName`. */
  md: ReturnType<typeof bearerMetadata>;
}

/** The HTTP side only: the controller, an admin session, a direct database connection. */
export type HttpSuite = Pick<ControllerSuite, 'controller' | 'admin' | 'db'>;

export async function openHttpSuite(): Promise<HttpSuite> {
  const controller = await startTestController();
  const admin = await HttpClient.login(controller.httpUrl);
  const db = new Client({ connectionString: controller.databaseUrl });
  await db.connect();
  return { controller, admin, db };
}

export async function openControllerSuite(tokenName: string): Promise<ControllerSuite> {
  const { controller, admin, db } = await openHttpSuite();
  const md = bearerMetadata((await admin.post('/api/api-tokens', { name: tokenName })).body.token);
  return { controller, admin, agents: agentClient(controller.grpcAddress), automation: automationClient(controller.grpcAddress), db, md };
}

/** The simulated agents' streams first, then the clients, the database, the controller. */
export async function closeControllerSuite(s: Partial<ControllerSuite>, live: readonly SimAgent[]): Promise<void> {
  live.forEach((a) => a.conn.close());
  s.agents?.close();
  s.automation?.close();
  await s.db?.end();
  await s.controller?.shutdown();
}
