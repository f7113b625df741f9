/**
 * Manage operators' accounts in a data directory without the gateway running:
 *   npm run user -- add <name> <role>      (asks for the password, or reads GATEWAY_USER_PASSWORD)
 *   npm run user -- list
 * Roles: viewer, maintenance, operator, admin. A running gateway also offers POST /api/users (admin),
 * and sees this file change within a second (the user's old logins end; the change is audited).
 */
import { createInterface } from 'node:readline/promises';
import path from 'node:path';
import { UserStore } from '../gateway/auth/users.js';
import { ROLES, type Role } from '../gateway/contract/api.js';

const dataDir = path.resolve(process.env.DATA_DIR ?? './data');
const [cmd, name, role] = process.argv.slice(2);
const store = new UserStore(dataDir);
const created = await store.init(process.env.GATEWAY_ADMIN_PASSWORD);
if (created.generatedPassword) console.log(`created user "admin" with password: ${created.generatedPassword} (shown once)`);

if (cmd === 'list') {
  for (const u of store.list()) console.log(`${u.user}\t${u.role}\t${u.createdAt}`);
} else if (cmd === 'add' && name && ROLES.includes(role as Role)) {
  let password = process.env.GATEWAY_USER_PASSWORD;
  if (!password) {
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    password = await rl.question(`password for ${name}: `);
    rl.close();
  }
  await store.set(name, password, role as Role);
  console.log(`saved ${name} (${role}) in ${store.file}`);
} else {
  console.error(`usage: npm run user -- add <name> <${ROLES.join('|')}>  |  npm run user -- list   (DATA_DIR=${dataDir})`);
  process.exit(2);
}
