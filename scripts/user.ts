/**
 * Manage operators' accounts in a data directory without the gateway running:
 *   npm run user -- add <name> <role> [--school S | --county C]   (asks for the password, or reads
 *     GATEWAY_USER_PASSWORD; --school binds the user to one school, contract §7; --county, at a city
 *     gateway, to one of its counties, decision 0010)
 *   npm run user -- list
 * Roles: viewer, maintenance, operator, admin. A running gateway also offers POST /api/users (admin),
 * and sees this file change within a second (the user's old logins end; the change is audited).
 */
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import path from 'node:path';
import { UserStore } from '../gateway/auth/users.js';
import { ROLES, type Role } from '../gateway/contract/api.js';

const dataDir = path.resolve(process.env.DATA_DIR ?? './data');
const { values: opts, positionals } = parseArgs({ allowPositionals: true, options: { school: { type: 'string' }, county: { type: 'string' } } });
const [cmd, name, role] = positionals;
const store = new UserStore(dataDir);
const created = await store.init(process.env.GATEWAY_ADMIN_PASSWORD);
if (created.generatedPassword) console.log(`created user "admin" with password: ${created.generatedPassword} (shown once)`);

if (cmd === 'list') {
  for (const u of store.list()) console.log(`${u.user}\t${u.role}\t${u.school ?? (u.county ? `county ${u.county}` : '(all)')}\t${u.createdAt}`);
} else if (cmd === 'add' && name && ROLES.includes(role as Role) && !((opts.school || opts.county) && role === 'admin') && !(opts.school && opts.county)) {
  let password = process.env.GATEWAY_USER_PASSWORD;
  if (!password) {
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    password = await rl.question(`password for ${name}: `);
    rl.close();
  }
  await store.set(name, password, role as Role, { school: opts.school, county: opts.county });
  console.log(`saved ${name} (${role}${opts.school ? ` of school ${opts.school}` : ''}${opts.county ? ` of county ${opts.county}` : ''}) in ${store.file}`);
} else {
  console.error(`usage: npm run user -- add <name> <${ROLES.join('|')}> [--school S | --county C]  |  npm run user -- list   (DATA_DIR=${dataDir}; an admin is never bound to a school or county)`);
  process.exit(2);
}
