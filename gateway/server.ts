/** The only file that listens or exits: config → app → listen; signals → graceful close. */
import pino from 'pino';
import { buildGateway } from './app.js';
import { loadConfig } from './config.js';
import { ConfigError } from './config-error.js';
import { LOG_REDACT } from './redact.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    return fatal(err);
  }
  const log = pino({ level: config.logLevel, base: { svc: 'campus-gateway' }, redact: LOG_REDACT });
  let built;
  try {
    built = await buildGateway(config, log);
  } catch (err) {
    return fatal(err, log);
  }
  const { app, services, generatedAdminPassword } = built;
  if (generatedAdminPassword) {
    // Printed once, to the console only; only its scrypt hash is stored.
    process.stdout.write(
      `\n  First start: created user "admin" with password: ${generatedAdminPassword}\n  (stored only as a hash in ${services.users.file}; it will not be shown again)\n\n`,
    );
  }
  await app.listen({ host: config.host, port: config.port });
  log.info(
    { http: config.port, https: config.tls.files !== undefined, mqtt: services.bus.describe(), dataDir: config.dataDir, schools: services.registry.schools.size, devices: services.registry.devices.size },
    'campus-gateway ready',
  );

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    await app.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

function fatal(err: unknown, log?: pino.Logger): void {
  if (err instanceof ConfigError) {
    process.stderr.write(`campus-gateway: invalid configuration: ${err.message}\n`);
  } else {
    (log ?? pino({ redact: LOG_REDACT })).fatal({ err }, 'campus-gateway failed to start');
    if ((err as NodeJS.ErrnoException)?.code === 'EADDRINUSE') process.stderr.write(`campus-gateway: ${(err as Error).message}\n`);
  }
  process.exit(1);
}

void main();
