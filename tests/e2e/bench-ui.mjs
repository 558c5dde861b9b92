// `make bench`, the UI's part: the real app (GATEHOUSE_APP, a release build) under tauri-driver,
// over a profile whose cache holds 100,000 users (GATEHOUSE_BENCH_HOME, made by
// crates/core/benches/desktop_ui.rs, which runs this). Prints one `BENCH <name> <value> <unit>`
// line per figure on stdout, notes on stderr.
//
// - ui_cold_start_ms: from the app process's start (launched by tauri-driver's WebKitWebDriver)
//   to the users table's first rows in the DOM (the UI's User Timing mark), median of COLD_STARTS
//   launches. The time from the WebDriver session request goes to stderr beside it.
// - ui_search_keystroke_p99_ms: a real key event in the search box (its timeStamp) to the moment
//   the table holds the rows of the new search (a MutationObserver on the table), over KEYSTROKES
//   keys: words typed one letter at a time, each cleared with one Backspace-all; after a first
//   search (not counted) that waits for the user index to be built.
// - ui_rss_mb: after opening every screen and a user's detail, the resident memory of the app's
//   process and of every process under it (WebKit's web and network processes), summed.
// - ui_floor_rss_mb: the same sum for an empty Tauri window on the same WebKitGTK
//   (GATEHOUSE_EMPTY_APP, benches/empty-window, a release build like the app's), measured in the
//   same run; ui_rss_over_floor_mb is what the app holds beyond it.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, realpathSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import { launchApp, openScreen, processTree } from './driver.mjs';

// The app logs as people run it: the e2e tests' debug logging would cost the figures time.
const ENV = { RUST_LOG: 'info' };

const COLD_STARTS = 5;
// Names and e-mail parts of the bench organisation, numbers, and what matches nobody: 142 keys.
const WORDS = [
  'anna', 'moreau', 'kim.', 'walsh', 'tanaka', 'singh', 'costa', 'johansson', 'bench', '4242', 'zz', 'sam',
  'li', 'noah.kim', 'example', 'lopez', 'mia', 'ed', 'garcia', 'patel', '.77', 'chen', 'ali', 'olsen', 'qq', 'ren',
];
const SCREENS = ['Overview', 'Invitations', 'Workspaces', 'Groups', 'Usage', 'Audit log', 'Settings', 'Users'];

const home = process.env.GATEHOUSE_BENCH_HOME;
if (!home) throw new Error('GATEHOUSE_BENCH_HOME must name the prepared app home');

function report(name, value, unit) {
  console.log(`BENCH ${name} ${value.toFixed(1)} ${unit}`);
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Epoch milliseconds at which the UI marked its first rows, once it has. */
async function firstRowsAt(browser) {
  let at = null;
  await browser.waitUntil(
    async () => {
      at = await browser.execute(() => {
        const mark = performance.getEntriesByName('users-table-visible')[0];
        return mark ? performance.timeOrigin + mark.startTime : null;
      });
      return at !== null;
    },
    { timeout: 120_000, interval: 20, timeoutMsg: 'the users table never showed rows' },
  );
  return at;
}

/** When process `pid` started, in epoch milliseconds (to the kernel's 10 ms clock ticks). */
function processStartedAt(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  const uptimeS = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  const bootedAt = Date.now() - uptimeS * 1000;
  // USER_HZ is 100 on every Linux platform.
  return bootedAt + ticks * 10;
}

/** Launch to rows: from the app's process start, and from asking tauri-driver for a session. */
async function coldStart() {
  const asked = Date.now();
  const app = await launchApp({ home, env: ENV });
  try {
    const rowsAt = await firstRowsAt(app.browser);
    const startedAt = processStartedAt(appPid(app.driverPid));
    const pageAt = await app.browser.execute(() => performance.timeOrigin);
    return { fromProcess: rowsAt - startedAt, fromSession: rowsAt - asked, toPage: pageAt - startedAt };
  } finally {
    await app.stop();
  }
}

/** Watches the search box and the table: each key event's time, and when the table caught up. */
function installKeystrokeProbe() {
  const input = document.querySelector('[data-testid="user-search"]');
  const table = document.querySelector('[data-testid="users-table"]');
  // `key`: the key event's time; `expect`: the search it made, known once the input changed.
  const probe = { key: null, expect: null, results: [] };
  window.__keystrokes = probe;
  const caughtUp = () => {
    if (probe.key === null || probe.expect === null) return;
    const rowsFor = table.dataset.rowsFor;
    if (!rowsFor || JSON.parse(rowsFor).query !== probe.expect) return;
    probe.results.push(performance.now() - probe.key);
    probe.key = null;
    probe.expect = null;
  };
  input.addEventListener('keydown', (e) => {
    probe.key = e.timeStamp;
    probe.expect = null;
  }, true);
  // The table's attribute changes with every new search, so the observer sees each one.
  input.addEventListener('input', () => {
    probe.expect = input.value.trim();
  });
  new MutationObserver(caughtUp).observe(table, { attributes: true, childList: true, subtree: true, characterData: true });
}

async function keystrokes(browser) {
  const search = await browser.$('[data-testid="user-search"]');
  await search.click();
  await browser.execute(installKeystrokeProbe);
  const latencies = [];
  const press = async (key) => {
    const before = await browser.execute(() => window.__keystrokes.results.length);
    await browser.keys(key);
    await browser.waitUntil(async () => (await browser.execute(() => window.__keystrokes.results.length)) > before, {
      timeout: 10_000,
      interval: 5,
      timeoutMsg: `the table did not catch up with the key ${JSON.stringify(key)}`,
    });
    latencies.push(await browser.execute(() => window.__keystrokes.results.at(-1)));
  };
  // The first search after the start waits for the user index, which the table's first page
  // set building (desktop_first_search_cold_ms measures that wait); the figure is of the
  // searches after it.
  await press('k');
  await browser.keys(['Control', 'a']);
  await press('Backspace');
  const [first, cleared] = latencies.splice(0);
  console.error(`first search after the start: ${first} ms, cleared in ${cleared} ms (not counted)`);
  for (const word of WORDS) {
    for (const letter of word) await press(letter);
    await browser.keys(['Control', 'a']);
    await press('Backspace');
  }
  return latencies;
}

/**
 * VmRSS in MB of `pid` and every process below it, summed. Pages the processes share (WebKit's
 * libraries) count once per process; the PSS beside it on stderr shares them out.
 */
function treeRssMb(pid) {
  let rssKb = 0;
  let pssKb = 0;
  const parts = [];
  for (const p of processTree(pid)) {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8');
      const rss = Number(status.match(/^VmRSS:\s+(\d+) kB/m)?.[1] ?? 0);
      const pss = Number(readFileSync(`/proc/${p}/smaps_rollup`, 'utf8').match(/^Pss:\s+(\d+) kB/m)?.[1] ?? 0);
      rssKb += rss;
      pssKb += pss;
      parts.push(`${status.match(/^Name:\s+(.+)$/m)?.[1]} RSS ${(rss / 1024).toFixed(0)} MB, PSS ${(pss / 1024).toFixed(0)} MB`);
    } catch {
      // Gone.
    }
  }
  console.error(`ui_rss: ${parts.join('; ')}; summed RSS ${(rssKb / 1024).toFixed(0)} MB, PSS ${(pssKb / 1024).toFixed(0)} MB`);
  console.error(`ui_rss: where the ${parts[0]?.split(' ')[0]} process's RSS is: ${rssByMapping(pid)}`);
  return rssKb / 1024;
}

/**
 * The RSS of process `pid` by what is mapped (a file by its name; memory not backed by a file
 * as heap, thread stacks, or other anonymous), largest first: what a cut should go after.
 */
function rssByMapping(pid) {
  const byName = new Map();
  let name = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = line.match(/^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/);
    if (head) {
      const path = head[1];
      name = path === '' ? 'anonymous' : path.startsWith('[') ? path : path.split('/').pop();
      if (name.startsWith('[stack')) name = '[stack]';
    } else if (line.startsWith('Rss:')) {
      byName.set(name, (byName.get(name) ?? 0) + Number(line.split(/\s+/)[1]));
    }
  }
  return [...byName]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 10)
    .map(([n, kb]) => `${n} ${(kb / 1024).toFixed(1)} MB`)
    .join(', ');
}

/**
 * The summed RSS of the empty window (GATEHOUSE_EMPTY_APP) once its page has loaded and it has
 * settled: as long as the app is given after its last screen.
 */
async function floorRssMb() {
  const empty = process.env.GATEHOUSE_EMPTY_APP;
  if (!empty) throw new Error('GATEHOUSE_EMPTY_APP must name the empty window (benches/empty-window)');
  const child = spawn(empty, [], { stdio: 'ignore', env: { ...process.env, ...ENV } });
  try {
    // Its web process appears once the window loads its page.
    for (let i = 0; i < 100 && !processTree(child.pid).some((p) => readFileSync(`/proc/${p}/status`, 'utf8').includes('WebKitWebProces')); i++) {
      await sleep(100);
    }
    await sleep(3_000);
    return treeRssMb(child.pid);
  } finally {
    child.kill();
  }
}

/** The app's process: the one running GATEHOUSE_APP below this run's tauri-driver. */
function appPid(driverPid) {
  const app = realpathSync(process.env.GATEHOUSE_APP);
  const found = processTree(driverPid).filter((p) => {
    try {
      return realpathSync(`/proc/${p}/exe`) === app;
    } catch {
      return false;
    }
  });
  if (found.length !== 1) throw new Error(`expected one app process under tauri-driver, found ${found.length}`);
  return found[0];
}

/** Time to answer one users search through the app's IPC, without the UI: the backend's part. */
async function ipcSearchMs(browser, query) {
  return browser.executeAsync((q, done) => {
    const started = performance.now();
    // One page, as the table asks for (ui/src/users/useUserPages.ts, PAGE_SIZE).
    const filter = { query: q, role: null, status: null, workspace_id: null, group_id: null, sort: 'name', descending: false, offset: 0, limit: 100 };
    window.__TAURI_INTERNALS__.invoke('plugin:console|list_users', { filter }).then(
      () => done(performance.now() - started),
      (e) => done(`failed: ${JSON.stringify(e)}`),
    );
  }, query);
}

const starts = [];
for (let i = 0; i < COLD_STARTS; i++) {
  const start = await coldStart();
  starts.push(start.fromProcess);
  console.error(`cold start ${i + 1}: ${start.fromProcess.toFixed(0)} ms from the process's start (the page began loading at ${start.toPage.toFixed(0)} ms), ${start.fromSession.toFixed(0)} ms from the WebDriver session request`);
}

const app = await launchApp({ home, env: ENV });
try {
  await firstRowsAt(app.browser);
  const latencies = await keystrokes(app.browser);
  console.error(
    `keystrokes: ${latencies.length}, p50 ${percentile(latencies, 50).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`,
  );
  // The backend's share: the same searches through IPC alone.
  const ipc = [];
  for (const word of WORDS) for (let n = 1; n <= word.length; n++) ipc.push(await ipcSearchMs(app.browser, word.slice(0, n)));
  if (ipc.some((v) => typeof v !== 'number')) throw new Error(`a search through IPC failed: ${ipc.find((v) => typeof v !== 'number')}`);
  console.error(`search through IPC alone: p50 ${percentile(ipc, 50).toFixed(1)} ms, max ${Math.max(...ipc).toFixed(1)} ms`);
  for (const screen of SCREENS) {
    await openScreen(app.browser, screen);
    await app.browser.pause(1_000);
  }
  const row = await app.browser.$('[data-testid="user-row"]');
  await row.click();
  await app.browser.pause(1_500);
  const rss = treeRssMb(appPid(app.driverPid));

  report('ui_cold_start_ms', percentile(starts, 50), 'ms');
  report('ui_search_keystroke_p50_ms', percentile(latencies, 50), 'ms');
  report('ui_search_keystroke_p99_ms', percentile(latencies, 99), 'ms');
  report('ui_rss_mb', rss, 'MB');
  const floor = await floorRssMb();
  report('ui_floor_rss_mb', floor, 'MB');
  report('ui_rss_over_floor_mb', rss - floor, 'MB');
} finally {
  await app.stop();
}
