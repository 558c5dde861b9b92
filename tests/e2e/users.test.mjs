// End to end in the real app: first start runs the demo gateway,
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

test('every screen opens on the demo organisation, and a user opens from the table', async () => {
  const { browser } = app;
  const screens = [
    ['Overview', 'overview'],
    ['Invitations', 'invitations'],
    ['Workspaces', 'workspaces'],
    ['Groups', 'groups'],
    ['Usage', 'usage'],
    ['Audit log', 'audit'],
    ['Settings', 'settings'],
  ];
  for (const [label, name] of screens) {
    const link = await navLink(browser, label);
    await link.click();
    let heading = '';
    await browser
      .waitUntil(
        async () => {
          heading = await (await browser.$('main h1')).getText();
          return heading === label || heading.startsWith(`${label} — `);
        },
        { timeout: 10_000 },
      )
      .catch(async () => {
        await screenshot(browser, `screen-${name}-failed`);
        assert.fail(`the ${label} screen did not open; the heading says ${JSON.stringify(heading)}`);
      });
    // Give the screen's cache reads a moment to land before the picture.
    await browser.pause(500);
    await screenshot(browser, `screen-${name}`);
  }
  const overview = await navLink(browser, 'Overview');
  await overview.click();
  await browser.waitUntil(async () => (await (await browser.$('main')).getText()).includes('64'), {
    timeout: 10_000,
    timeoutMsg: 'the overview never showed the demo organisation\'s 64 users',
  });

  await (await navLink(browser, 'Users')).click();
  const search = await browser.$('[data-testid="user-search"]');
  await search.waitForExist({ timeout: 10_000 });
  await search.setValue('Avery Quinn');
  await browser.waitUntil(async () => (await browser.$$('[data-testid="user-row"]')).length === 1, {
    timeout: 10_000,
    timeoutMsg: 'search did not narrow to one row',
  });
  await (await browser.$('[data-testid="user-row"]')).click();
  await browser.waitUntil(async () => (await (await browser.$('main h1')).getText()) === 'Avery Quinn', {
    timeout: 10_000,
    timeoutMsg: 'the user detail did not open',
  });
  await browser.pause(500);
  await screenshot(browser, 'screen-user-detail');
});

/** The sidebar's link to a screen, by its label. */
async function navLink(browser, label) {
  return (await browser.$('nav[aria-label="Main"]')).$(`a=${label}`);
}

test('suspending a member and reactivating them goes through the gateway and shows at once', async () => {
  const { browser } = app;
  await (await navLink(browser, 'Users')).click();
  const search = await browser.$('[data-testid="user-search"]');
  await search.waitForExist({ timeout: 10_000 });
  await search.clearValue();
  await (await browser.$('select[aria-label="Role"]')).selectByAttribute('value', 'member');
  await (await browser.$('select[aria-label="Status"]')).selectByAttribute('value', 'active');
  await browser.waitUntil(async () => (await browser.$$('[data-testid="user-row"]')).length > 0, {
    timeout: 10_000,
    timeoutMsg: 'no active member in the table',
  });
  await (await browser.$('[data-testid="user-row"]')).click();
  const pill = async () => (await browser.$('.user-head .pill')).getText();
  await browser.waitUntil(async () => (await pill()) === 'Active', {
    timeout: 10_000,
    timeoutMsg: 'the member\'s detail did not open as active',
  });
  const name = await (await browser.$('main h1')).getText();

  await (await (await browser.$('main')).$('button=Suspend')).click();
  await browser.waitUntil(async () => (await pill()) === 'Suspended', {
    timeout: 20_000,
    timeoutMsg: `${name} did not show as suspended after Suspend`,
  });
  await screenshot(browser, 'user-suspended');
  await (await (await browser.$('main')).$('button=Reactivate')).click();
  await browser.waitUntil(async () => (await pill()) === 'Active', {
    timeout: 20_000,
    timeoutMsg: `${name} did not show as active after Reactivate`,
  });
});
