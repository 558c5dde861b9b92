// End to end in the real app on the embedded demo gateway: first start runs it, syncs it into
// the cache, and the users table shows the demo organisation; then an invitation goes out and is
// accepted over HTTP, a budget reaches the chart, a member is suspended and reactivated. At the
// end, no secret the run used is in any file the app wrote.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  assertNoFileHolds,
  clipboardChangedFrom,
  field,
  keychainSecrets,
  launchApp,
  navLink,
  openScreen,
  screenshot,
  seriousAxeViolations,
  unreachableByTab,
  writeClipboard,
} from './driver.mjs';

let app;
/** Every secret this run handled: what it typed, and what the app put on the clipboard. */
const secrets = new Set();

let appHome;
before(async () => {
  app = await launchApp();
  appHome = app.home;
});

after(async () => {
  await app?.stop();
});

/** The main area's button labelled `label`. */
async function button(browser, label) {
  return (await browser.$('main')).$(`button=${label}`);
}

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

test('every screen opens on the demo organisation, a user opens from the table, axe finds nothing serious on any, and Tab reaches every control', async () => {
  const { browser } = app;
  // axe-core on each screen as it first shows: serious and critical violations, by screen.
  const inaccessible = [];
  // And every control on it reachable with Tab alone.
  const unreachable = [];
  const audit = async (name) => {
    inaccessible.push(...(await seriousAxeViolations(browser)).map((v) => `${name}: ${v}`));
    unreachable.push(...(await unreachableByTab(browser)).map((c) => `${name}: ${c}`));
  };
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
    await audit(label);
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
  await browser.waitUntil(async () => (await browser.$$('[data-testid="user-row"]')).length > 1, { timeout: 10_000 });
  await audit('Users');
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
  await audit('User detail');
  assert.deepEqual(inaccessible, [], 'axe-core found serious or critical violations');
  assert.deepEqual(unreachable, [], 'controls that Tab does not reach');
});

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

  // Suspending asks first, with an optional reason the audit log keeps.
  await (await (await browser.$('main')).$('button=Suspend…')).click();
  const ask = await browser.$('[role="alertdialog"]');
  await ask.waitForExist({ timeout: 5_000, timeoutMsg: 'Suspend… did not ask' });
  await (await ask.$('textarea')).setValue('e2e: on leave');
  await screenshot(browser, 'user-suspend-confirm');
  await (await ask.$('button=Suspend')).click();
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

test('an invitation copied from the app lets the invitee join over HTTP, and they show as active', async () => {
  const { browser } = app;
  const email = 'robin.e2e@northwind.example';
  await openScreen(browser, 'Invitations');
  await (await button(browser, 'Invite')).click();
  const form = await browser.$('form[aria-label="Invite a user"]');
  await (await field(form, 'E-mail')).setValue(email);
  await (await field(form, 'First name')).setValue('Robin');
  await (await field(form, 'Last name')).setValue('Endtoend');
  writeClipboard('nothing yet');
  await (await form.$('button=Send invitation')).click();
  const link = await clipboardChangedFrom(browser, 'nothing yet', 'the new invitation\'s link');
  secrets.add(link);
  const token = link.split('/invite/')[1];
  secrets.add(token);
  assert.match(link, /^http:\/\/127\.0\.0\.1:\d+\/invite\/[A-Za-z0-9_-]{20,}$/);
  const notice = await browser.$('main .notice');
  assert.equal(await notice.getText(), 'Invitation sent; the link is on your clipboard.');
  await screenshot(browser, 'invitation-sent');

  // The pending list has it, and its Copy link gives the same link again.
  const row = await browser.$(`tr[aria-label="${email}"]`);
  await row.waitForExist({ timeout: 10_000, timeoutMsg: 'the new invitation is not in the pending list' });
  assert.doesNotMatch(await (await browser.$('main')).getText(), new RegExp(token), 'the link is in the web view');
  writeClipboard('copied before');
  await (await row.$('button=Copy link')).click();
  assert.equal(await clipboardChangedFrom(browser, 'copied before', 'the copied link'), link);

  // The invitee accepts over HTTP, as their browser would.
  const password = 'e2e invitee passphrase 7f3a';
  secrets.add(password);
  const accepted = await fetch(link, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ password }),
  });
  const joined = await accepted.json();
  assert.equal(accepted.status, 200, JSON.stringify(joined));
  assert.equal(joined.status, 'active');
  assert.equal(joined.email, email);

  // The app learns of it at its next sync.
  await (await browser.$('[data-testid="sync-now"]')).click();
  await openScreen(browser, 'Users');
  const search = await browser.$('[data-testid="user-search"]');
  await search.clearValue();
  await search.setValue('robin.e2e');
  await browser.waitUntil(
    async () => {
      const rows = await browser.$$('[data-testid="user-row"]');
      return rows.length === 1 && (await rows[0].getText()).includes('Active');
    },
    { timeout: 20_000, timeoutMsg: `${email} did not show as an active user` },
  );
  await screenshot(browser, 'invitee-active');
});

test('a budget set on a user reaches their chart as caps, and a new API key goes to the clipboard only', async () => {
  const { browser } = app;
  // The invitee of the test before.
  await (await browser.$('[data-testid="user-row"]')).click();
  await browser.waitUntil(async () => (await (await browser.$('main h1')).getText()) === 'Robin Endtoend', {
    timeout: 10_000,
    timeoutMsg: 'the invitee\'s detail did not open',
  });
  const chart = await browser.$('[data-testid="budget-chart"]');
  await chart.waitForExist({ timeout: 10_000 });
  assert.equal(await (await browser.$('[data-testid="monthly-cap"]')).isExisting(), false, 'a cap before any was set');

  const budget = await browser.$('form[aria-label="Budget"]');
  await (await field(budget, 'Daily cap (USD)')).setValue('5');
  await (await field(budget, 'Monthly cap (USD)')).setValue('120');
  await (await budget.$('button=Save budget')).click();
  await browser.waitUntil(async () => (await browser.$('[data-testid="monthly-cap"]')).isExisting(), {
    timeout: 20_000,
    timeoutMsg: 'the monthly cap never reached the chart',
  });
  assert.ok(await (await browser.$('[data-testid="daily-cap"]')).isExisting(), 'no daily cap line');
  // What the chart says it shows, read out in place of the picture.
  const caption = await browser.execute((el) => el.querySelector('figcaption').textContent, chart);
  assert.match(caption, /of a \$\s?120\.00 monthly cap; .* against a \$\s?5\.00 daily cap/);
  // The whole month, and the caps drawn as labelled lines.
  assert.match(await (await browser.$('[data-testid="monthly-cap"]')).getText(), /^Monthly cap \$\s?120\.00$/);
  const effective = await (await browser.$('[data-testid="policy-monthly_usd"] [data-testid="effective"]')).getText();
  assert.match(effective, /^Effective: \$\s?120\.00 \(own\)$/);
  await chart.scrollIntoView();
  await screenshot(browser, 'budget-chart');

  const keys = await browser.$('section[aria-labelledby="keys-title"]');
  await (await field(keys, "New key's name")).setValue('e2e laptop');
  writeClipboard('no key yet');
  await (await keys.$('button=Create key')).click();
  const key = await clipboardChangedFrom(browser, 'no key yet', 'the new API key');
  secrets.add(key);
  await browser.waitUntil(async () => (await keys.getText()).includes('e2e laptop'), {
    timeout: 10_000,
    timeoutMsg: 'the new key is not listed',
  });
  assert.ok(!(await (await browser.$('body')).getText()).includes(key), 'the API key is shown in the web view');
});

test('a bulk invitation previews names, members and repeats, and Copy all links gives every new link', async () => {
  const { browser } = app;
  await openScreen(browser, 'Invitations');
  await (await button(browser, 'Bulk invite')).click();
  const form = await browser.$('form[aria-label="Bulk invite"]');
  // Pasted, as an admin would: WebKitWebDriver's typing drops line breaks.
  await browser.execute(
    (el, text) => {
      Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value').set.call(el, text);
      el.dispatchEvent(new Event('input', { bubbles: true }));
    },
    await field(form, 'Addresses'),
    'Nia Bulk <nia.bulk@northwind.example>, Omar Bulk <omar.bulk@northwind.example>\nNIA.BULK@northwind.example\nrobin.e2e@northwind.example\nnot-an-address',
  );
  // The preview is the gateway's reading of the text (in Rust), against the cache.
  await browser
    .waitUntil(async () => (await form.$$('[data-testid="bulk-token"]')).length === 5, { timeout: 10_000 })
    .catch(async () => {
      await screenshot(browser, 'bulk-invite-failed');
      assert.fail(`the preview did not list five entries: ${await form.getText()}`);
    });
  const tokens = [];
  for (const t of await form.$$('[data-testid="bulk-token"]')) tokens.push([await t.getText(), await t.getAttribute('data-kind')]);
  assert.deepEqual(
    tokens.map(([, kind]) => kind),
    ['to_invite', 'to_invite', 'duplicate', 'already_member', 'invalid'],
  );
  assert.match(tokens[0][0], /^Nia Bulk nia\.bulk@northwind\.example/);
  await screenshot(browser, 'bulk-invite-preview');
  await (await form.$('button=Send 2 invitations')).click();
  const results = await browser.$('section[aria-label="Bulk invite results"]');
  await results.waitForExist({ timeout: 20_000, timeoutMsg: 'no bulk results' });
  writeClipboard('no links yet');
  await (await results.$('button=Copy all links')).click();
  const links = await clipboardChangedFrom(browser, 'no links yet', 'the bulk invitation links');
  const lines = links.trim().split('\n');
  assert.equal(lines.length, 2, links.replace(/\/invite\/\S+/g, '/invite/…'));
  for (const line of lines) {
    const [email, link] = line.split('\t');
    assert.match(email, /^(nia|omar)\.bulk@northwind\.example$/);
    assert.match(link, /^http:\/\/127\.0\.0\.1:\d+\/invite\/[A-Za-z0-9_-]{20,}$/);
    secrets.add(link);
    secrets.add(link.split('/invite/')[1]);
  }
  assert.match(await (await results.$('.notice')).getText(), /The links are on your clipboard/);
  assert.ok(!(await (await browser.$('body')).getText()).includes('/invite/'), 'a link is shown in the web view');
});

test('no secret this run used is in the app\'s logs, caches or config', async () => {
  // Read the keychain while the app's entries exist, then stop the app so its files are final.
  for (const secret of keychainSecrets()) secrets.add(secret);
  assert.ok(secrets.size >= 6, `only ${secrets.size} secrets to look for`);
  await app.stop();
  app = null;
  assertNoFileHolds(appHome, [...secrets]);
});
