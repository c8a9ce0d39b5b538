import pino from 'pino';
import { ConfigError, parseConfig, type Config } from './config';
import { startController } from './controller';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = parseConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`portfleet controller: invalid configuration: ${err.message}\n`);
    process.exit(1);
  }
  const logger = pino({ level: config.logLevel, base: { service: 'controller' } });
  const controller = await startController(config, logger);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    controller.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));

  if (controller.firstAdmin?.generated) {
    const { username, password } = controller.firstAdmin;
    process.stdout.write(
      [
        '',
        '==================== PORTFLEET FIRST RUN ====================',
        '  Console administrator (shown only this once; stored hashed):',
        `    username: ${username}`,
        `    password: ${password}`,
        '=============================================================',
        '',
      ].join('\n') + '\n',
    );
  }
  process.stdout.write(`PORTFLEET_CONTROLLER_READY http=${controller.httpUrl} grpc=${controller.grpcAddress}\n`);
}

main().catch((err) => {
  process.stderr.write(`portfleet controller failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
