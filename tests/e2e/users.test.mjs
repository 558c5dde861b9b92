// The walking skeleton end to end: first start of the real app runs the demo gateway,
// syncs it into the cache, and the users table shows the demo organisation.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchApp, screenshot } from './driver.mjs';

let app;

before(async () => {
  app = await launchApp();
});

after(async () => {
  await app?.stop();
});

test('the users table shows the demo organisation and search narrows it', async () => {
  const { browser } = app;
  const table = await browser.$('[data-testid="users-table"]');
  await table.waitForExist({ timeout: 120_000, timeoutMsg: 'the users table never appeared' });
  await browser.waitUntil(async () => (await browser.$$('[data-testid="user-row"]')).length > 10, {
    timeout: 60_000,
    timeoutMsg: 'the users table never filled',
  });
  const rows = await browser.$$('[data-testid="user-row"]');
  assert.ok(rows.length > 10, `only ${rows.length} rows`);
  await screenshot(browser, 'users');

  const search = await browser.$('[data-testid="user-search"]');
  await search.setValue('Avery Quinn');
  await browser.waitUntil(
    async () => {
      const visible = await browser.$$('[data-testid="user-row"]');
      if (visible.length !== 1) return false;
      return (await visible[0].getText()).includes('avery.quinn@northwind.example');
    },
    { timeout: 10_000, timeoutMsg: 'searching for the seeded admin did not narrow the table to her row' },
  );
  const only = await browser.$$('[data-testid="user-row"]');
  assert.equal(only.length, 1);
  assert.match(await only[0].getText(), /Avery Quinn/);
  await screenshot(browser, 'users-search');
});
