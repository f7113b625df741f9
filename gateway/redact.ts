/**
 * What logs and /health may show of a secret: nothing. URLs lose their user, password and any
 * secret-looking query value; the logger drops password, token and secret fields and
 * authorization headers wherever they appear (contract §6: never a password, token, secret or the
 * credentials part of a URL).
 */
const SECRET_QUERY = /token|pass|secret|key|auth|sig|credential/i;

/** A URL fit for logs and /health: user, password and secret-looking query values replaced. Relative URLs (a request's) too. */
export function redactUrl(url: string): string {
  const relative = url.startsWith('/');
  let u: URL;
  try {
    u = new URL(url, relative ? 'http://relative.invalid' : undefined);
  } catch {
    return '(invalid url)';
  }
  // Any user at all: a broker or database user name tells an outsider half of a login.
  if (u.username) u.username = '***';
  if (u.password) u.password = '***';
  for (const k of [...u.searchParams.keys()]) if (SECRET_QUERY.test(k)) u.searchParams.set(k, '***');
  return relative ? u.pathname + u.search + u.hash : u.toString();
}

/** `text` with every occurrence of each known secret replaced (for error messages that may quote one). */
export function scrubSecrets(text: string, secrets: (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('***');
  return out;
}

const SECRET_KEYS = ['password', 'mqttPassword', 'token', 'secret', 'adminPassword', 'authorization', 'cookie', 'passwordFile', 'apiKey'];
const URL_KEYS = ['url', 'mqttUrl', 'influxUrl'];

/**
 * pino `redact` options: secret fields at the top level and up to two levels down (`err.config.token`,
 * `req.headers.authorization`), URL fields rewritten by `redactUrl` rather than dropped (the host
 * helps an operator; the credentials do not).
 */
export const LOG_REDACT = {
  paths: [
    ...[...SECRET_KEYS, ...URL_KEYS].flatMap((k) => [k, `*.${k}`, `*.*.${k}`]),
    'req.headers["x-api-key"]',
    'headers.Authorization',
    '*.headers.Authorization',
  ],
  censor: (value: unknown, path: string[]): unknown => {
    const key = path[path.length - 1];
    if (URL_KEYS.includes(key) && typeof value === 'string') return redactUrl(value);
    return '[redacted]';
  },
};
