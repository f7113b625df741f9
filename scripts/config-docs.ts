/**
 * Prints the README's configuration table, generated from the one configuration schema
 * (gateway/config/variables.ts). `--write` puts it into README.md between its config markers.
 *   npm run config-docs              print the table
 *   npm run config-docs -- --write   update README.md
 */
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../gateway/config.js';
import { configTable, withConfigTable } from '../gateway/config/docs.js';

if (process.argv.includes('--write')) {
  const file = path.join(REPO_ROOT, 'README.md');
  const before = fs.readFileSync(file, 'utf8');
  const after = withConfigTable(before);
  fs.writeFileSync(file, after);
  process.stdout.write(before === after ? 'README.md: configuration table already up to date\n' : 'README.md: configuration table updated\n');
} else {
  process.stdout.write(`${configTable()}\n`);
}
