// End to end against a gateway in a process of its own: a profile added and signed in from
// Settings with a token; the gateway stopped (users, charts and invite links still there from the
// cache, changes not offered) and started again (the app finds it by itself); an auditor signed in
// with a password is offered no change anywhere; an admin signs in with SSO through the system
// browser (a script that follows the redirects) and the organisation's identity provider (a real
// OpenID Connect issuer on 127.0.0.1); that admin makes a notification channel to a webhook
// receiver on 127.0.0.1 and an API key with a budget and an expiry, uses the key, and a budget
// threshold arrives at the receiver, signed. At the end, no secret the run used is in any file the
// app wrote.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  assertNoFileHolds,
  clipboardChangedFrom,
  fakeBrowserDir,
  field,
  keychainSecrets,
  launchApp,
  openScreen,
  screenshot,
  startGateway,
  writeClipboard,
} from './driver.mjs';
import { CLIENT_ID, startIssuer } from './oidc-issuer.mjs';
import { signatureValid, startReceiver } from './webhook-receiver.mjs';

const PROFILE = 'Northwind staging';
/** What changes something on the gateway; Settings' own (local) buttons are not among these screens. */
const WRITE_ACTION = /^(Invite|Bulk invite|Resend|Revoke|Suspend|Reactivate|Approve|Decline|Delete|Save|Grant|Create|New|Remove|Add|Send password reset|Change role)\b/;
const SCREENS = ['Overview', 'Users', 'Invitations', 'Workspaces', 'Groups', 'Usage', 'Audit log'];

let gateway;
let issuer;
let receiver;
let app;
let appHome;
const secrets = new Set();
/** The link of the invitation the offline test copies, as copied while online. */
let onlineLink;

before(async () => {
  issuer = await startIssuer();
  secrets.add(issuer.clientSecret);
  receiver = await startReceiver();
  gateway = await startGateway({
    env: {
      GATEHOUSE_OIDC_ISSUER: issuer.url,
      GATEHOUSE_OIDC_CLIENT_ID: CLIENT_ID,
      GATEHOUSE_OIDC_CLIENT_SECRET: issuer.clientSecret,
      GATEHOUSE_OIDC_NAME: 'Northwind SSO',
      // The receiver is on loopback, which channels may reach only when the gateway allows it.
      GATEHOUSE_ALLOWED_WEBHOOK_NETS: '127.0.0.1',
    },
  });
  secrets.add(gateway.token);
  // The system browser is a script that follows the redirects: first in the app's PATH.
  app = await launchApp({ env: { PATH: `${fakeBrowserDir()}:${process.env.PATH}` } });
  appHome = app.home;
});

after(async () => {
  await app?.stop();
  await gateway?.stop();
  await issuer?.stop();
  await receiver?.stop();
});

/** The labels of the buttons the main area offers now. */
async function offeredButtons(browser) {
  const buttons = await (await browser.$('main')).$$('button');
  const labels = [];
  for (const b of buttons) if (await b.isDisplayed()) labels.push((await b.getText()).trim());
  return labels;
}

/** The write actions offered on each screen and on a user's detail, by screen. */
async function writeActionsEverywhere(browser) {
  const found = {};
  for (const screen of SCREENS) {
    await openScreen(browser, screen);
    await browser.pause(700);
    found[screen] = (await offeredButtons(browser)).filter((l) => WRITE_ACTION.test(l));
  }
  await openUser(browser, 'Avery Quinn');
  found['User detail'] = (await offeredButtons(browser)).filter((l) => WRITE_ACTION.test(l));
  return found;
}

async function openUser(browser, name) {
  await openScreen(browser, 'Users');
  const search = await browser.$('[data-testid="user-search"]');
  await search.clearValue();
  await search.setValue(name);
  await browser.waitUntil(async () => (await browser.$$('[data-testid="user-row"]')).length === 1, {
    timeout: 10_000,
    timeoutMsg: `searching for ${name} did not narrow the table to one row`,
  });
  await (await browser.$('[data-testid="user-row"]')).click();
  await browser.waitUntil(async () => (await (await browser.$('main h1')).getText()) === name, {
    timeout: 10_000,
    timeoutMsg: `${name}'s detail did not open`,
  });
  await browser.pause(500);
}

async function waitForTopBar(browser, profile, status) {
  let seen = [];
  await browser
    .waitUntil(
      async () => {
        seen = [
          // WebDriver's visible-text rules give '' for this span; its text is what shows.
          await (await browser.$('[data-testid="profile-name"]')).getProperty('textContent'),
          await (await browser.$('[data-testid="sync-status"]')).getText(),
        ];
        return seen[0] === profile && status.test(seen[1]);
      },
      { timeout: 60_000 },
    )
    .catch(async () => {
      await screenshot(browser, 'top-bar-failed');
      assert.fail(`the top bar never showed ${profile} with ${status}; it shows ${JSON.stringify(seen)}`);
    });
}

function profileRow(browser, name) {
  return browser.$(`li[data-testid="profile"][aria-label="${name}"]`);
}

test('a profile for another gateway is added in Settings and signed in with a token', async () => {
  const { browser } = app;
  await (await browser.$('[data-testid="users-table"]')).waitForExist({ timeout: 120_000 });
  await openScreen(browser, 'Settings');
  await (await (await browser.$('main')).$('button=Add profile')).click();
  const form = await browser.$('form[aria-label="Add a profile"]');
  await (await field(form, 'Name')).setValue(PROFILE);
  await (await field(form, 'Gateway URL')).setValue(gateway.url);
  await (await form.$('button=Add profile')).click();

  const signIn = await browser.$(`form[aria-label="Sign in to ${PROFILE}"]`);
  await signIn.waitForExist({ timeout: 10_000, timeoutMsg: 'no sign-in form for the new profile' });
  await (await signIn.$('input[value="token"]')).click();
  await (await field(signIn, 'Token')).setValue(gateway.token);
  await (await signIn.$('button=Sign in')).click();
  await waitForTopBar(browser, PROFILE, /^Synced/);
  assert.equal(await (await (await profileRow(browser, PROFILE)).$('[data-testid="sign-in-state"]')).getText(), 'Signed in');
  // The token went to the keychain; the field it was typed in is empty again.
  assert.ok(!(await (await browser.$('body')).getText()).includes(gateway.token));
  await screenshot(browser, 'profile-signed-in');

  const admin = await writeActionsEverywhere(browser);
  for (const screen of ['Users', 'Invitations', 'Workspaces', 'Groups', 'User detail']) {
    assert.ok(admin[screen].length > 0, `an admin is offered no change on ${screen}: ${JSON.stringify(admin)}`);
  }
});

test('with the gateway stopped, users, charts and invitation links still come from the cache', async () => {
  const { browser } = app;
  await openScreen(browser, 'Invitations');
  const row = await browser.$('tr[data-testid="invitation-row"]');
  await row.waitForExist({ timeout: 10_000, timeoutMsg: 'no pending invitation on the demo gateway' });
  const invitee = await row.getAttribute('aria-label');
  writeClipboard('before online copy');
  await (await row.$('button=Copy link')).click();
  onlineLink = await clipboardChangedFrom(browser, 'before online copy', 'the invitation link (online)');
  secrets.add(onlineLink);
  secrets.add(onlineLink.split('/invite/')[1]);
  assert.ok(onlineLink.startsWith(`${gateway.url}/invite/`), onlineLink);

  await gateway.stop();
  await (await browser.$('[data-testid="sync-now"]')).click();
  const banner = await browser.$('[data-testid="offline-banner"]');
  await banner.waitForExist({ timeout: 30_000, timeoutMsg: 'no offline banner after the gateway stopped' });
  assert.match(await banner.getText(), /^Offline — data as of /);
  assert.equal(await (await browser.$('[data-testid="sync-status"]')).getText(), 'Offline');

  await openUser(browser, 'Avery Quinn');
  assert.ok(await (await browser.$('[data-testid="budget-chart"]')).isExisting(), 'no budget chart offline');
  await screenshot(browser, 'offline-user-detail');
  await openScreen(browser, 'Usage');
  // The chart's bars (Recharts draws each as a path in a .recharts-bar-rectangle group).
  await browser.waitUntil(async () => (await browser.$$('[data-testid="stacked-bars"] .recharts-bar-rectangle')).length > 10, {
    timeout: 10_000,
    timeoutMsg: 'the usage chart did not draw from the cache',
  });
  await screenshot(browser, 'offline-usage');

  await openScreen(browser, 'Invitations');
  const cached = await browser.$(`tr[data-testid="invitation-row"][aria-label="${invitee}"]`);
  await cached.waitForExist({ timeout: 10_000 });
  writeClipboard('before offline copy');
  await (await cached.$('button=Copy link')).click();
  assert.equal(await clipboardChangedFrom(browser, 'before offline copy', 'the invitation link (offline)'), onlineLink);
  assert.ok(await (await browser.$('[data-testid="offline-banner"]')).isExisting());

  // Changes are not offered while the gateway is away, and the screen says why.
  assert.deepEqual((await offeredButtons(browser)).filter((l) => WRITE_ACTION.test(l)), []);
  assert.ok(await (await browser.$('[data-testid="write-hint"]')).isExisting(), 'no word on why changes are off');
  await screenshot(browser, 'offline-invitations');
});

test('when the gateway is back the app finds it by itself and offers changes again', async () => {
  const { browser } = app;
  await gateway.start();
  await browser.waitUntil(async () => !(await (await browser.$('[data-testid="offline-banner"]')).isExisting()), {
    timeout: 30_000,
    timeoutMsg: 'the app did not notice the gateway was back',
  });
  await waitForTopBar(browser, PROFILE, /^Synced/);
  await (await (await browser.$('main')).$('button=Invite')).waitForExist({ timeout: 10_000, timeoutMsg: 'Invite is not offered again' });
});

test('an auditor signed in with a password reads everything and is offered no change', async () => {
  const { browser } = app;
  const email = 'ada.auditor@northwind.example';
  const password = 'auditor passphrase 41c9 e2e';
  secrets.add(password);
  await gateway.api('POST', '/users', {
    email,
    first_name: 'Ada',
    last_name: 'Auditor',
    role: 'auditor',
    workspace_ids: [],
    password,
  });

  await openScreen(browser, 'Settings');
  await (await (await profileRow(browser, PROFILE)).$('button=Sign out')).click();
  await (await (await profileRow(browser, PROFILE)).$('button=Sign in')).click();
  const signIn = await browser.$(`form[aria-label="Sign in to ${PROFILE}"]`);
  await (await field(signIn, 'E-mail')).setValue(email);
  await (await field(signIn, 'Password')).setValue(password);
  await (await signIn.$('button=Sign in')).click();
  await browser.waitUntil(
    async () => (await (await (await profileRow(browser, PROFILE)).$('[data-testid="sign-in-state"]')).getText()) === 'Signed in',
    { timeout: 20_000, timeoutMsg: 'the auditor\'s sign-in did not take' },
  );
  await waitForTopBar(browser, PROFILE, /^Synced/);
  assert.equal(
    await (await (await profileRow(browser, PROFILE)).$('[data-testid="signed-in-as"]')).getText(),
    `as ${email}, Auditor`,
  );

  const offered = await writeActionsEverywhere(browser);
  for (const [screen, actions] of Object.entries(offered)) {
    assert.deepEqual(actions, [], `an auditor is offered changes on ${screen}`);
  }
  await screenshot(browser, 'auditor-user-detail');
  // Reading is not refused: the users and the audit log are there.
  await openScreen(browser, 'Users');
  await browser.waitUntil(async () => (await browser.$$('[data-testid="user-row"]')).length > 10, {
    timeout: 10_000,
    timeoutMsg: 'an auditor sees no users',
  });
  assert.equal((await browser.$$('main input[type="checkbox"]')).length, 0, 'rows can be picked for bulk changes');
  await openScreen(browser, 'Audit log');
  await browser.waitUntil(async () => (await (await browser.$('main')).getText()).includes('user.created'), {
    timeout: 10_000,
    timeoutMsg: 'the audit log does not show the auditor\'s creation',
  });
});

test('an admin signs in with SSO through the system browser, the session in the keychain only', async () => {
  const { browser } = app;
  const email = 'sam.sso@northwind.example';
  await gateway.api('POST', '/users', { email, first_name: 'Sam', last_name: 'Sso', role: 'admin', workspace_ids: [] });
  issuer.signInAs({ email, email_verified: true, given_name: 'Sam' });

  await openScreen(browser, 'Settings');
  await (await (await profileRow(browser, PROFILE)).$('button=Sign out')).click();
  await (await (await profileRow(browser, PROFILE)).$('button=Sign in')).click();
  const signIn = await browser.$(`form[aria-label="Sign in to ${PROFILE}"]`);
  await (await signIn.$('.//label[span[normalize-space()="Identity provider"]]//select')).selectByAttribute('value', 'oidc');
  await (await signIn.$('button=Sign in with SSO')).click();
  await browser.waitUntil(
    async () => (await (await (await profileRow(browser, PROFILE)).$('[data-testid="sign-in-state"]')).getText()) === 'Signed in',
    { timeout: 30_000, timeoutMsg: 'the SSO sign-in did not take' },
  );
  await waitForTopBar(browser, PROFILE, /^Synced/);
  assert.equal(
    await (await (await profileRow(browser, PROFILE)).$('[data-testid="signed-in-as"]')).getText(),
    `as ${email}, Admin`,
  );
  await screenshot(browser, 'signed-in-with-sso');
  // What the provider handed out (codes, ID tokens) never reached the page.
  const page = await (await browser.$('body')).getText();
  for (const secret of issuer.handedOut) {
    secrets.add(secret);
    assert.ok(!page.includes(secret));
  }
});

/** `YYYY-MM-DD` of the local day `days` from now. */
function dayFromNow(days) {
  const d = new Date(Date.now() + days * 86_400_000);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

test('a channel and a key with a budget and an expiry made in the app; a budget threshold reaches the receiver, signed', async () => {
  const { browser } = app;
  await openScreen(browser, 'Settings');
  const notifications = await browser.$('section[aria-labelledby="notifications-title"]');
  await (await notifications.$('button=New channel')).click();
  const channelForm = await notifications.$('form[aria-label="New channel"]');
  await (await field(channelForm, 'Channel name')).setValue('Ops alerts');
  await (await field(channelForm, 'Webhook URL')).setValue(receiver.url);
  await (await channelForm.$('.//label[contains(@class,"checkbox")][normalize-space()="Budget threshold crossed"]//input')).click();
  writeClipboard('no channel secret yet');
  await (await channelForm.$('button=Create channel')).click();
  const signingSecret = await clipboardChangedFrom(browser, 'no channel secret yet', "the channel's signing secret");
  secrets.add(signingSecret);
  assert.match(signingSecret, /^whsec_/);
  await (await notifications.$('tr[data-testid="channel"][aria-label="Ops alerts"]')).waitForExist({ timeout: 10_000 });

  await openUser(browser, 'Avery Quinn');
  const keys = await browser.$('section[aria-labelledby="keys-title"]');
  const keyForm = await keys.$('form[aria-label="New API key"]');
  await (await field(keyForm, "New key's name")).setValue('e2e ci key');
  // Typed as a person would: the day in 30 days, written as the app's locale writes dates.
  const expires = dayFromNow(30);
  const written = await browser.execute((day) => {
    const [y, m, d] = day.split('-').map(Number);
    return new Intl.DateTimeFormat(undefined, { year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(y, m - 1, d));
  }, expires);
  await (await field(keyForm, 'Key expires on')).setValue(written);
  await (await field(keyForm, 'Key daily budget (USD)')).setValue('5');
  writeClipboard('no key yet');
  await (await keyForm.$('button=Create key')).click();
  const key = await clipboardChangedFrom(browser, 'no key yet', 'the new API key');
  secrets.add(key);
  let row = '';
  await browser.waitUntil(
    async () => {
      for (const r of await keys.$$('[data-testid="api-key"]')) {
        const text = await r.getText();
        if (text.includes('e2e ci key')) row = text;
      }
      return /\$\s?5\.00 a day \(resets in \d+ (d|h|min)/.test(row);
    },
    { timeout: 20_000, timeoutMsg: `the new key is not listed with its budget: ${JSON.stringify(row)}` },
  );
  assert.match(row, /expires /);
  assert.ok(!(await (await browser.$('body')).getText()).includes(key), 'the API key is shown in the web view');
  await screenshot(browser, 'key-with-budget-and-expiry');

  // The key works on the data plane, within the models it has.
  const models = await (await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } })).json();
  assert.ok(models.data?.length > 0, `the key sees no model: ${JSON.stringify(models)}`);
  const chat = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: models.data[0].id, messages: [{ role: 'user', content: 'hello from the e2e key' }] }),
  });
  assert.equal(chat.status, 200, await chat.text());

  // A monthly cap below what Avery spent this month crosses the thresholds at once.
  const budget = await browser.$('form[aria-label="Budget"]');
  await (await field(budget, 'Monthly cap (USD)')).setValue('0.01');
  await (await budget.$('button=Save budget')).click();
  await browser.waitUntil(() => receiver.received.some((r) => r.headers['gatehouse-event'] === 'budget.threshold_crossed'), {
    timeout: 30_000,
    timeoutMsg: `no budget threshold reached the receiver; it got ${JSON.stringify(receiver.received.map((r) => r.headers['gatehouse-event']))}`,
  });
  const delivery = receiver.received.find((r) => r.headers['gatehouse-event'] === 'budget.threshold_crossed');
  assert.ok(signatureValid(delivery, signingSecret), 'the delivery is not signed with the channel secret');
  const event = JSON.parse(delivery.body);
  assert.equal(event.type, 'budget.threshold_crossed');
  assert.ok(!delivery.body.includes(key), 'the event carries the API key');

  // The console's delivery log says it was delivered.
  await openScreen(browser, 'Settings');
  const channel = await browser.$('tr[data-testid="channel"][aria-label="Ops alerts"]');
  await (await channel.$('button=Delivery log')).click();
  await browser.waitUntil(
    async () => {
      const outcomes = await browser.$$('[data-testid="delivery-outcome"]');
      for (const o of outcomes) if ((await o.getText()) === 'Delivered') return true;
      await (await (await browser.$('[aria-labelledby="delivery-log-title"]')).$('button=Refresh')).click();
      return false;
    },
    { timeout: 20_000, timeoutMsg: 'the delivery log never showed a delivered event' },
  );
  await screenshot(browser, 'channel-delivery-log');
});

test('no secret this run used is in the app\'s logs, caches or config', async () => {
  for (const secret of keychainSecrets()) secrets.add(secret);
  assert.ok(secrets.size >= 5, `only ${secrets.size} secrets to look for`);
  await app.stop();
  app = null;
  assertNoFileHolds(appHome, [...secrets]);
});
