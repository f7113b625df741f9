// Preloaded into gateway processes by `npm run bench -- --profile <dir>` (NODE_OPTIONS=--import …):
// Node 20 refuses --cpu-prof in NODE_OPTIONS, so this does the same through the inspector. The
// profile (Chrome DevTools / speedscope format) is written when the process exits, SIGTERM included.
import { Session } from 'node:inspector';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.env.BENCH_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 }); // µs
  session.post('Profiler.start');
  process.once('exit', () => {
    // A same-thread session answers synchronously, so this completes before the process ends.
    session.post('Profiler.stop', (err, res) => {
      if (err) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, `CPU.${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}
