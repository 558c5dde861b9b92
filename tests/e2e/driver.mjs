// Starts the built app under tauri-driver (which runs WebKitWebDriver) and hands back a
// WebdriverIO session. Each test gets a fresh profile: empty config and data folders.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { remote } from 'webdriverio';

export const repoRoot = path.resolve(import.meta.dirname, '../..');
export const screenshotDir = path.join(repoRoot, 'target', 'e2e');

function appPath() {
  const app = process.env.GATEHOUSE_APP;
  if (!app) throw new Error('GATEHOUSE_APP must name the built app binary (make test sets it)');
  return app;
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitForPort(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`tauri-driver did not listen on ${port} within ${timeoutMs} ms`);
}

/**
 * Launches the app with its config, data and cache folders under `home` (fresh ones unless
 * given) and `env` added to its environment; returns { browser, stop, home, driverPid }.
 */
export async function launchApp({ home = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-e2e-')), env: extraEnv = {} } = {}) {
  // No update check at start: tests talk to loopback only.
  const config = path.join(home, 'config', 'dev.gatehouse.console');
  mkdirSync(config, { recursive: true });
  const settingsFile = path.join(config, 'settings.json');
  const settings = existsSync(settingsFile) ? JSON.parse(readFileSync(settingsFile, 'utf8')) : {};
  writeFileSync(settingsFile, JSON.stringify({ ...settings, check_updates_at_start: false }));
  const env = {
    ...process.env,
    XDG_CONFIG_HOME: path.join(home, 'config'),
    XDG_DATA_HOME: path.join(home, 'data'),
    XDG_CACHE_HOME: path.join(home, 'cache'),
    // Debug: the secret scans at the end of the tests read what the app logs, so let it say much.
    RUST_LOG: process.env.RUST_LOG ?? 'debug',
    // An English desktop's locale: WebKit formats numbers, money and dates by it (the bare C
    // locale of a CI machine groups no digits).
    LANG: 'en_US.UTF-8',
    LC_ALL: '',
    // Xvfb has no GPU: WebKit's accelerated compositing paints stale frames there.
    WEBKIT_DISABLE_COMPOSITING_MODE: '1',
    ...extraEnv,
  };
  // The keyring daemon keeps its files in the XDG_DATA_HOME it started with; the app's folders
  // are the fresh ones above.

  // A session that fails to start is begun again from nothing: WebdriverIO's own retry would
  // launch a second app while the first still runs, and the single instance hands that launch
  // over to the first and quits, leaving the new session waiting for a window that never comes.
  let driver;
  let browser;
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const nativePort = await freePort();
    driver = spawn('tauri-driver', ['--port', String(port), '--native-port', String(nativePort)], {
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    try {
      await waitForPort(port, 20_000);
      browser = await remote({
        hostname: '127.0.0.1',
        port,
        logLevel: 'warn',
        connectionRetryCount: 0,
        capabilities: {
          browserName: 'wry',
          // WebKitWebDriver speaks classic WebDriver only; without this WebdriverIO asks for BiDi.
          'wdio:enforceWebDriverClassic': true,
          'tauri:options': { application: appPath() },
        },
      });
      break;
    } catch (e) {
      const processes = processTree(driver.pid);
      for (const pid of processes.reverse()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
      await waitUntilGone(processes, 15_000);
      if (attempt === 3) throw e;
      console.error(`# the WebDriver session did not start (${e.message}); starting again`);
    }
  }
  mkdirSync(screenshotDir, { recursive: true });
  // The app is a single instance: a launch while the last one is still exiting would hand over
  // to it and quit. Stopping waits until the app and its WebKit processes are gone.
  const stop = async () => {
    const processes = processTree(driver.pid).slice(1);
    try {
      // A WebDriver that stopped answering must not hold the run: the processes are killed anyway.
      await Promise.race([browser.deleteSession(), new Promise((resolve) => setTimeout(resolve, 20_000))]);
    } finally {
      driver.kill();
      for (const pid of processes) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // Gone already.
        }
      }
    }
    await waitUntilGone(processes, 15_000);
  };
  return { browser, stop, home, driverPid: driver.pid };
}

/** Waits until none of `processes` runs, for at most `ms`. */
async function waitUntilGone(processes, ms) {
  const deadline = Date.now() + ms;
  while (processes.some(running) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Whether `pid` runs: it exists and is not a zombie waiting for its parent. */
function running(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** `pid` and every process below it. */
export function processTree(pid) {
  const parents = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Gone since the listing.
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    for (const [child, parent] of parents) if (parent === tree[i]) tree.push(child);
  }
  return tree;
}

export async function screenshot(browser, name) {
  // WebKitWebDriver takes the picture at the next presentation update; a screen that has
  // stopped changing gives none until its 60-second timeout. A 1-pixel, nearly transparent
  // element that comes and goes gives it one at once.
  await browser.execute(() => {
    const blip = document.createElement('div');
    blip.style.cssText = 'position:fixed;left:0;top:0;width:1px;height:1px;opacity:0.01';
    document.body.appendChild(blip);
    requestAnimationFrame(() => setTimeout(() => blip.remove(), 50));
  });
  await browser.saveScreenshot(path.join(screenshotDir, `${name}.png`));
}

/** The input, select or textarea labelled `label` inside `scope` (a form, a section). */
export async function field(scope, label) {
  const labelled = `.//div[contains(@class,"field")][label[normalize-space()="${label}"]]`;
  return scope.$(`${labelled}//input | ${labelled}//select | ${labelled}//textarea`);
}

/** The sidebar's link to a screen, by its label. */
export async function navLink(browser, label) {
  return (await browser.$('nav[aria-label="Main"]')).$(`a=${label}`);
}

/** Opens a screen from the sidebar and waits for its heading. */
export async function openScreen(browser, label) {
  await (await navLink(browser, label)).click();
  await browser.waitUntil(
    async () => {
      const heading = await (await browser.$('main h1')).getText().catch(() => '');
      return heading === label || heading.startsWith(`${label} — `);
    },
    { timeout: 10_000, timeoutMsg: `the ${label} screen did not open` },
  );
}

/** What the X clipboard holds as text ('' when nothing), as another program would paste it. */
export function readClipboard() {
  const out = spawnSync('xclip', ['-o', '-selection', 'clipboard'], { encoding: 'utf8', timeout: 5_000 });
  return out.status === 0 ? out.stdout : '';
}

/** Puts `text` on the clipboard, so a later read shows whether the app replaced it. */
export function writeClipboard(text) {
  // xclip stays in the background to serve the selection until another program takes it.
  const child = spawn('xclip', ['-i', '-selection', 'clipboard', '-loops', '1'], { stdio: ['pipe', 'ignore', 'ignore'] });
  child.stdin.end(text);
}

/** Waits until the clipboard holds something other than `before`, and returns it. */
export async function clipboardChangedFrom(browser, before, what) {
  let text = '';
  await browser.waitUntil(
    async () => {
      text = readClipboard();
      return text !== '' && text !== before;
    },
    { timeout: 10_000, timeoutMsg: `${what} never reached the clipboard` },
  );
  return text;
}

/**
 * Every secret the app's keychain entries hold (tokens, cache keys), through the Secret Service
 * as any other program would see them.
 */
export function keychainSecrets() {
  const out = spawnSync('secret-tool', ['search', '--all', 'service', 'dev.gatehouse.console'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (out.error) throw out.error;
  return [...`${out.stdout}\n${out.stderr}`.matchAll(/^secret = (.+)$/gm)].map((m) => m[1]);
}

/**
 * Fails when any file the app wrote under `home` (its config, its caches, its logs) contains any
 * of `secrets`. The embedded demo gateway's own database is not the app's: it is the server
 * side, which keeps invitations' links so admins can copy them, so it is left out.
 */
export function assertNoFileHolds(home, secrets) {
  const files = filesUnder(home).filter((f) => !path.basename(f).startsWith('demo-gateway.db'));
  // The scan covers what the app keeps, or it proves nothing.
  for (const kept of [/\/profiles\.json$/, /\/cache\/[^/]+\.sqlite$/, /\/logs\/gatehouse\.\d{4}-\d{2}-\d{2}\.log$/]) {
    if (!files.some((f) => kept.test(f))) throw new Error(`no file like ${kept} under ${home}: ${files.join(', ')}`);
  }
  const hits = [];
  for (const file of files) {
    const bytes = readFileSync(path.join(home, file));
    for (const secret of secrets) {
      if (bytes.includes(Buffer.from(secret))) hits.push(`${file}: a secret of ${secret.length} characters`);
    }
  }
  if (hits.length > 0) throw new Error(`secrets in the app's files:\n${hits.join('\n')}`);
}

/** Every file under `dir`, relative to it. */
function filesUnder(dir) {
  const out = [];
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const file = path.join(d, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.isFile()) out.push(path.relative(dir, file));
    }
  };
  walk(dir);
  return out;
}

/**
 * A gateway of our own in a separate process (the `gatehouse-gateway` binary, demo organisation,
 * SQLite in a temp folder) on 127.0.0.1. `stop()` kills it; `start()` brings it back on the same
 * address and database.
 */
/**
 * A folder with an `xdg-open` that plays the system browser for the app's "Sign in with SSO": it
 * follows the redirects over HTTP, hop by hop, to the app's loopback listener. Put it first in the
 * app's PATH: the opener runs `xdg-open` with the URL.
 */
export function fakeBrowserDir() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-e2e-browser-'));
  const script = path.join(dir, 'xdg-open');
  writeFileSync(
    script,
    `#!/usr/bin/env node
// A failed hop rejects, which ends the script with the error printed and a non-zero status.
(async () => {
  let url = process.argv[2];
  for (let hop = 0; hop < 10 && url; hop++) {
    const response = await fetch(url, { redirect: 'manual' });
    const next = response.headers.get('location');
    await response.text();
    url = next ? new URL(next, url).toString() : null;
  }
})();
`,
  );
  chmodSync(script, 0o755);
  return dir;
}

export async function startGateway({ env: extraEnv = {} } = {}) {
  const bin = process.env.GATEHOUSE_GATEWAY;
  if (!bin) throw new Error('GATEHOUSE_GATEWAY must name the gateway binary (make e2e sets it)');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-e2e-gw-'));
  const db = `sqlite://${path.join(dir, 'gateway.db')}`;
  const gateway = { url: '', token: '', child: null };
  const run = (listen) =>
    new Promise((resolve, reject) => {
      const child = spawn(bin, ['serve', '--demo', '--db', db, '--listen', listen], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, RUST_LOG: 'warn', ...extraEnv },
      });
      let out = '';
      child.stdout.on('data', (chunk) => {
        out += chunk;
        const listening = out.match(/^listening on (http:\/\/\S+)$/m);
        if (!listening) return;
        // The last line before "listening on" is the admin's token.
        const lines = out.split('\n');
        gateway.token = lines[lines.findIndex((l) => l.startsWith('listening on')) - 1].trim();
        gateway.url = listening[1];
        resolve(child);
      });
      child.on('exit', (code) => reject(new Error(`gatehouse-gateway exited with ${code} before listening`)));
      child.on('error', reject);
    });
  gateway.child = await run('127.0.0.1:0');
  gateway.stop = async () => {
    const child = gateway.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };
  gateway.start = async () => {
    gateway.child = await run(new URL(gateway.url).host);
  };
  /** Calls the admin API as the demo admin. */
  gateway.api = async (method, apiPath, body) => {
    const response = await fetch(`${gateway.url}/admin/v1${apiPath}`, {
      method,
      headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${apiPath}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  return gateway;
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * axe-core's serious and critical violations on what the window shows now, each as
 * "rule: the first offending element", so a failure says where to look.
 */
export async function seriousAxeViolations(browser) {
  await browser.execute(`if (!window.axe) { ${axeSource} }`);
  const result = await browser.executeAsync((done) => {
    window.axe
      .run(document)
      .then((r) => done({
        passes: r.passes.length,
        violations: r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, target: v.nodes.map((n) => n.target.join(' ')).slice(0, 3) })),
      }))
      .catch((e) => done({ passes: 0, violations: [{ id: 'axe-error', impact: 'critical', help: String(e), target: [] }] }));
  });
  // A run that checked nothing proves nothing.
  if (result.passes === 0 && result.violations.length === 0) throw new Error('axe-core checked no rule');
  console.log(`axe: ${result.passes} rules pass, ${result.violations.length} violated (${result.violations.map((v) => `${v.id}:${v.impact}`).join(', ')})`);
  const violations = result.violations;
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.help}): ${v.target.join(', ')}`);
}

/**
 * The controls on the page that Tab never reaches: every visible, enabled button, link, field
 * and element with a tab stop is marked, focus starts from nothing, and Tab is pressed once per
 * control and a few more; what never took focus is described. A radio group is one stop (the
 * arrow keys move within it), so it counts as reached when any of its radios was.
 */
export async function unreachableByTab(browser) {
  const count = await browser.execute(() => {
    const shown = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
    let n = 0;
    for (const el of document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')) {
      delete el.dataset.tabStop;
      if (!shown(el) || el.disabled || el.tabIndex < 0 || el.closest('[inert], [aria-hidden="true"]')) continue;
      el.dataset.tabStop = String(n++);
    }
    window.__tabbed = new Set();
    if (!window.__tabListener) {
      window.__tabListener = (e) => {
        const el = e.target;
        // A chart's svg is an Element with a dataset, not an HTMLElement.
        if (!(el instanceof HTMLElement || el instanceof SVGElement)) return;
        window.__tabbed.add(el.dataset.tabStop ?? '');
        if (el.type === 'radio') for (const r of document.querySelectorAll(`input[type=radio][name="${el.name}"]`)) window.__tabbed.add(r.dataset.tabStop ?? '');
      };
      document.addEventListener('focusin', window.__tabListener);
    }
    if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
    return n;
  });
  if (count === 0) throw new Error('no control on the page to reach');
  // One action of separate presses (`keys` with several keys holds them down together).
  const presses = browser.action('key');
  for (let i = 0; i < count + 5; i++) presses.down('\uE004').up('\uE004');
  await presses.perform();
  return browser.execute(() =>
    [...document.querySelectorAll('[data-tab-stop]')]
      .filter((el) => !window.__tabbed.has(el.dataset.tabStop))
      .map((el) => `${el.tagName.toLowerCase()} "${(el.getAttribute('aria-label') || el.textContent || el.name || '').trim().slice(0, 40)}"`),
  );
}
