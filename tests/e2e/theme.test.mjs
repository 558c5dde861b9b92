// End to end in the real app: the theme follows the desktop's. GTK's dark variant (here through
// GTK_THEME, as a desktop's dark mode sets it) reaches the page as prefers-color-scheme: dark.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { launchApp, openScreen, screenshot } from './driver.mjs';

/** The relative luminance (0 black to 1 white) of the page's background where the table is. */
async function backgroundLuminance(browser) {
  return browser.execute(() => {
    // The first element up from the table that paints a background.
    for (let el = document.querySelector('main'); el; el = el.parentElement) {
      const [r, g, b, a = 1] = getComputedStyle(el).backgroundColor.match(/\d+(\.\d+)?/g).map(Number);
      if (a > 0) return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
    }
    return null;
  });
}

for (const [theme, dark] of [['Adwaita', false], ['Adwaita:dark', true]]) {
  test(`with the desktop's ${dark ? 'dark' : 'light'} theme the app is ${dark ? 'dark' : 'light'}`, async () => {
    const app = await launchApp({ env: { GTK_THEME: theme } });
    try {
      const { browser } = app;
      await (await browser.$('[data-testid="user-row"]')).waitForExist({ timeout: 120_000 });
      assert.equal(await browser.execute(() => matchMedia('(prefers-color-scheme: dark)').matches), dark);
      const luminance = await backgroundLuminance(browser);
      assert.ok(dark ? luminance < 0.2 : luminance > 0.8, `background luminance ${luminance.toFixed(2)}`);
      await screenshot(browser, `theme-${dark ? 'dark' : 'light'}`);
    } finally {
      await app.stop();
    }
  });
}

test('the theme chosen in Settings wins over the desktop\'s, and "as the desktop" gives it back', async () => {
  const app = await launchApp({ env: { GTK_THEME: 'Adwaita' } });
  try {
    const { browser } = app;
    await (await browser.$('[data-testid="user-row"]')).waitForExist({ timeout: 120_000 });
    await openScreen(browser, 'Settings');
    const theme = await browser.$('#theme');
    await theme.waitForEnabled({ timeout: 10_000 });
    const dark = () => browser.execute(() => matchMedia('(prefers-color-scheme: dark)').matches);
    assert.equal(await dark(), false);
    await theme.selectByAttribute('value', 'dark');
    await browser.waitUntil(dark, { timeout: 10_000, timeoutMsg: 'choosing Dark did not make the page dark' });
    const luminance = await backgroundLuminance(browser);
    assert.ok(luminance < 0.2, `background luminance ${luminance.toFixed(2)} with Dark chosen`);
    await screenshot(browser, 'theme-chosen-dark');
    await theme.selectByAttribute('value', 'system');
    await browser.waitUntil(async () => !(await dark()), { timeout: 10_000, timeoutMsg: '"As the desktop" did not give the light theme back' });
  } finally {
    await app.stop();
  }
});
