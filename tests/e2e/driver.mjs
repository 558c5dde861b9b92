// Starts the built app under tauri-driver (which runs WebKitWebDriver) and hands back a
// WebdriverIO session. Each test gets a fresh profile: empty config and data folders.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
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

/** Launches the app with fresh folders (and `env` added to its environment); returns { browser, stop, home }. */
export async function launchApp({ env: extraEnv = {} } = {}) {
  const home = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-e2e-'));
  // No update check at start: tests talk to loopback only.
  const config = path.join(home, 'config', 'dev.gatehouse.console');
  mkdirSync(config, { recursive: true });
  writeFileSync(path.join(config, 'settings.json'), JSON.stringify({ check_updates_at_start: false }));
  const env = {
    ...process.env,
    XDG_CONFIG_HOME: path.join(home, 'config'),
    XDG_DATA_HOME: path.join(home, 'data'),
    XDG_CACHE_HOME: path.join(home, 'cache'),
    RUST_LOG: process.env.RUST_LOG ?? 'info,sqlx=warn',
    // Xvfb has no GPU: WebKit's accelerated compositing paints stale frames there.
    WEBKIT_DISABLE_COMPOSITING_MODE: '1',
    ...extraEnv,
  };
  // The keyring daemon keeps its files in the XDG_DATA_HOME it started with; the app's folders
  // are the fresh ones above.
  const port = await freePort();
  const nativePort = await freePort();
  const driver = spawn('tauri-driver', ['--port', String(port), '--native-port', String(nativePort)], {
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitForPort(port, 20_000);
  const browser = await remote({
    hostname: '127.0.0.1',
    port,
    logLevel: 'warn',
    connectionRetryCount: 5,
    capabilities: {
      browserName: 'wry',
      // WebKitWebDriver speaks classic WebDriver only; without this WebdriverIO asks for BiDi.
      'wdio:enforceWebDriverClassic': true,
      'tauri:options': { application: appPath() },
    },
  });
  mkdirSync(screenshotDir, { recursive: true });
  const stop = async () => {
    try {
      await browser.deleteSession();
    } finally {
      driver.kill();
    }
  };
  return { browser, stop, home };
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
