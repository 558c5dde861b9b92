// End to end in the real app: Settings shows the log folder the app really writes its daily log
// file to, and a new log level from Settings applies at once (RUST_LOG unset, so the settings
// decide). The update sections are shown, but not used: tests reach loopback only, and the
// updater itself is tested against a loopback server in tests/updater.rs.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { launchApp, screenshot } from './driver.mjs';

let app;

before(async () => {
  app = await launchApp({ env: { RUST_LOG: '' } });
});

after(async () => {
  await app?.stop();
});

function logText(dir) {
  return readdirSync(dir)
    .filter((f) => /^gatehouse\.\d{4}-\d{2}-\d{2}\.log$/.test(f))
    .map((f) => readFileSync(path.join(dir, f), 'utf8'))
    .join('');
}

test('Settings shows the folder the app logs to, and a new log level applies at once', async () => {
  const { browser, home } = app;
  const logDir = path.join(home, 'data', 'dev.gatehouse.console', 'logs');
  await (await browser.$('[data-testid="users-table"]')).waitForExist({ timeout: 120_000 });
  await browser.execute(() => {
    window.location.hash = '#settings';
  });
  const shown = await browser.$('[data-testid="log-dir"]');
  await shown.waitForExist({ timeout: 10_000, timeoutMsg: 'Settings did not show the log folder' });
  assert.equal(await shown.getText(), logDir);

  const today = new Date().toISOString().slice(0, 10);
  assert.ok(existsSync(path.join(logDir, `gatehouse.${today}.log`)), `no log file for ${today} in ${logDir}`);
  assert.match(logText(logDir), /INFO gatehouse_app: starting/);

  const level = await browser.$('#log-level');
  assert.equal(await level.isEnabled(), true, 'the log level is not offered although RUST_LOG is unset');
  assert.equal(await level.getValue(), 'info');
  await level.selectByAttribute('value', 'debug');
  await browser.waitUntil(async () => /log level changed level=debug/.test(logText(logDir)), {
    timeout: 10_000,
    timeoutMsg: 'the new log level did not reach the log',
  });
  const settings = JSON.parse(
    readFileSync(path.join(home, 'config', 'dev.gatehouse.console', 'settings.json'), 'utf8'),
  );
  assert.equal(settings.log_level, 'debug');
  assert.equal(settings.check_updates_at_start, false);

  const updates = await browser.$('section[aria-labelledby="updates-title"]');
  await updates.scrollIntoView();
  assert.equal(await (await updates.$('button=Check for updates')).isEnabled(), true);
  await screenshot(browser, 'settings-updates-logs');
});
