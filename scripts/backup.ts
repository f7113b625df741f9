/**
 * An online backup of the ledger, while the gateway runs or not:
 *   npm run backup -- FILE                  (the ledger of DATA_DIR, default ./data)
 *   npm run backup -- FILE --data-dir DIR
 * Reads through a second, read-only SQLite connection on the same WAL file and copies one
 * consistent snapshot with SQLite's backup API; the gateway keeps committing meanwhile
 * (gateway/store/backup.ts). Restore: docs/backup.md.
 */
import path from 'node:path';
import { backupLedgerFile } from '../gateway/store/backup.js';

const args = process.argv.slice(2);
let dataDir = process.env.DATA_DIR ?? './data';
const files: string[] = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--data-dir' && args[i + 1]) dataDir = args[++i];
  else if (args[i].startsWith('-')) files.length = 2; // unknown flag: usage
  else files.push(args[i]);
}
if (files.length !== 1) {
  console.error('usage: npm run backup -- FILE [--data-dir DIR]   (DATA_DIR, default ./data: the gateway\'s data directory)');
  process.exit(2);
}
const ledger = path.resolve(dataDir, 'ledger.sqlite');
try {
  const r = await backupLedgerFile(ledger, files[0]);
  console.log(`backed up ${ledger} (ledger ${r.ledgerId ?? 'without an id'}) to ${r.file}: ${r.bytes} bytes in ${r.ms} ms, quick_check ok`);
} catch (err) {
  console.error(`backup failed: ${(err as Error).message}`);
  process.exit(1);
}
