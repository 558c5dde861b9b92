import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { createMockBackend, MOCK_PASSWORD, mockProfile, mockUpdate, readyStatus, type MockBackend } from "../backend/mock";
import type { ProfileInput } from "../bindings/ProfileInput";
import { renderApp } from "../test/render";

const demo = () => ({ summary: readyStatus().profile!, ca_pem: null });

async function renderSettings(backend: MockBackend = createMockBackend()) {
  window.location.hash = "#settings";
  renderApp(backend);
  await screen.findByRole("heading", { name: "Settings" });
  await waitFor(() => expect(screen.getAllByTestId("profile").length).toBe(backend.profiles.length));
  return backend;
}

/** The core's refusal of what was entered in `field` (crates/core/tests/profiles.rs checks when). */
function refusal(field: string, message: string) {
  return { code: "invalid", message, fields: [{ field, message }] };
}

function row(name: string): HTMLElement {
  return screen.getByRole("listitem", { name });
}

function fill(scope: HTMLElement, label: string, value: string) {
  fireEvent.change(within(scope).getByLabelText(label), { target: { value } });
}

async function addForm(values: { name: string; url: string; ca?: string }): Promise<HTMLElement> {
  fireEvent.click(screen.getByRole("button", { name: "Add profile" }));
  const form = await screen.findByRole("form", { name: "Add a profile" });
  fill(form, "Name", values.name);
  fill(form, "Gateway URL", values.url);
  if (values.ca !== undefined) fill(form, "CA certificate (optional)", values.ca);
  fireEvent.submit(form);
  return form;
}

describe("settings: profiles", () => {
  it("lists each profile with its URL, badges, sign-in state and which one is active", async () => {
    await renderSettings(
      createMockBackend({ profiles: [demo(), mockProfile("acme", "Acme prod", { custom_ca: true, signed_in: false })] }),
    );
    const demoRow = row("Demo organisation (on this computer)");
    expect(demoRow.textContent).toContain("Demo");
    expect(demoRow.textContent).toContain("Active");
    expect(demoRow.textContent).toContain("http://127.0.0.1:4100");
    expect(within(demoRow).getByTestId("sign-in-state").textContent).toBe("Signed in");
    // Who is signed in, for the open profile only.
    expect(within(demoRow).getByTestId("signed-in-as").textContent).toBe("as avery.quinn@northwind.example, Admin");
    // The demo signs itself in and cannot be removed.
    expect(within(demoRow).queryByRole("button", { name: "Remove" })).toBeNull();

    const acme = row("Acme prod");
    expect(acme.textContent).toContain("Custom CA");
    expect(acme.textContent).not.toContain("Active");
    expect(acme.textContent).toContain("https://acme.gateway.example/");
    expect(within(acme).getByTestId("sign-in-state").textContent).toBe("Signed out");
    expect(within(acme).queryByTestId("signed-in-as")).toBeNull();
    expect(within(acme).getByRole("button", { name: "Switch to" })).toBeTruthy();
  });

  it("shows a bad URL next to its field and adds nothing", async () => {
    const backend = await renderSettings();
    backend.profileAnswers = [refusal("url", "The gateway URL must start with https:// (or http://) and name a host.")];
    let adds = 0;
    const add = backend.addProfile;
    backend.addProfile = (input) => {
      adds += 1;
      return add(input);
    };
    const form = await addForm({ name: "Acme", url: "ftp://gw.acme.example" });
    const url = within(form).getByLabelText("Gateway URL");
    await waitFor(() => expect(url.getAttribute("aria-invalid")).toBe("true"));
    // The error is described first, then the field's hint.
    const error = document.getElementById(url.getAttribute("aria-describedby")!.split(" ")[0]!);
    expect(error?.textContent).toBe("The gateway URL must start with https:// (or http://) and name a host.");
    expect(url.closest(".field")?.contains(error!)).toBe(true);
    expect(within(form).getByLabelText("Name").getAttribute("aria-invalid")).toBe("false");
    expect(adds).toBe(1);
    expect(screen.getAllByTestId("profile")).toHaveLength(1);
    expect(await backend.listProfiles()).toHaveLength(1);
  });

  it("shows the core's refusal of a CA certificate next to it and adds nothing", async () => {
    const backend = await renderSettings();
    backend.profileAnswers = [refusal("ca_pem", "The CA certificate is not usable: it holds no certificate.")];
    const form = await addForm({ name: "Acme", url: "https://gw.acme.example", ca: "not a certificate" });
    const ca = within(form).getByLabelText("CA certificate (optional)");
    await waitFor(() => expect(ca.getAttribute("aria-invalid")).toBe("true"));
    expect(ca.closest(".field")?.textContent).toContain("The CA certificate is not usable");
    expect(backend.profiles).toHaveLength(1);
  });

  it("puts a validation_failed error's fields next to their inputs", async () => {
    const backend = await renderSettings();
    backend.addProfile = () =>
      Promise.reject({
        code: "validation_failed",
        message: "The request is not valid.",
        fields: [{ field: "name", message: "A profile named Acme exists." }],
      });
    const form = await addForm({ name: "Acme", url: "https://gw.acme.example" });
    const name = within(form).getByLabelText("Name");
    await waitFor(() => expect(name.getAttribute("aria-invalid")).toBe("true"));
    expect(within(form).getByTestId("field-error").textContent).toBe("A profile named Acme exists.");
    expect(within(form).queryByRole("alert")).toBeNull();
  });

  it("adds a profile, then signs in to it; the password leaves the input when sent", async () => {
    const backend = await renderSettings();
    // The profile as the core keeps what was entered: trimmed, with one trailing slash, signed out.
    backend.profileAnswers = [mockProfile("acme", "Acme prod", { url: "https://gw.acme.example/", signed_in: false })];
    await addForm({ name: "  Acme prod ", url: "https://gw.acme.example" });
    const acme = await screen.findByRole("listitem", { name: "Acme prod" });
    expect(acme.textContent).toContain("https://gw.acme.example/");
    expect(within(acme).getByTestId("sign-in-state").textContent).toBe("Signed out");
    expect(within(acme).queryByTestId("signed-in-as")).toBeNull();
    expect(screen.queryByRole("form", { name: "Add a profile" })).toBeNull();

    const form = within(acme).getByRole("form", { name: "Sign in to Acme prod" });
    fill(form, "E-mail", "avery.quinn@northwind.example");
    const password = within(form).getByLabelText<HTMLInputElement>("Password");
    expect(password.type).toBe("password");
    fill(form, "Password", MOCK_PASSWORD);
    fireEvent.submit(form);
    expect(password.value).toBe("");

    await waitFor(() => expect(within(row("Acme prod")).getByTestId("sign-in-state").textContent).toBe("Signed in"));
    expect(row("Acme prod").textContent).toContain("Active");
    expect(row("Demo organisation (on this computer)").textContent).not.toContain("Active");
    expect(backend.status).toMatchObject({ phase: "ready", profile: { name: "Acme prod" } });
    expect(screen.queryByRole("form", { name: "Sign in to Acme prod" })).toBeNull();
  });

  it("shows the gateway's message for a wrong password and stays signed out", async () => {
    const backend = await renderSettings(createMockBackend({ profiles: [demo(), mockProfile("acme", "Acme prod", { signed_in: false })] }));
    fireEvent.click(within(row("Acme prod")).getByRole("button", { name: "Sign in" }));
    const form = within(row("Acme prod")).getByRole("form", { name: "Sign in to Acme prod" });
    fill(form, "E-mail", "avery.quinn@northwind.example");
    fill(form, "Password", "Tr0ub4dor&3");
    fireEvent.submit(form);
    expect((await within(form).findByRole("alert")).textContent).toBe("Wrong e-mail or password.");
    expect(within(form).getByLabelText<HTMLInputElement>("Password").value).toBe("");
    expect(within(row("Acme prod")).getByTestId("sign-in-state").textContent).toBe("Signed out");
    expect(backend.status.profile?.id).toBe("demo");
  });

  it("asks before removing a profile, naming it and what goes with it", async () => {
    const backend = await renderSettings(createMockBackend({ profiles: [demo(), mockProfile("acme", "Acme prod")] }));
    fireEvent.click(within(row("Acme prod")).getByRole("button", { name: "Remove" }));
    const confirm = screen.getByRole("alertdialog", { name: "Remove Acme prod?" });
    expect(confirm.textContent).toMatch(/cached data and its saved credential are deleted/);
    expect(backend.profiles).toHaveLength(2);

    fireEvent.click(within(confirm).getByRole("button", { name: "Cancel" }));
    expect(screen.queryByRole("alertdialog")).toBeNull();
    expect(backend.profiles).toHaveLength(2);

    fireEvent.click(within(row("Acme prod")).getByRole("button", { name: "Remove" }));
    fireEvent.click(within(screen.getByRole("alertdialog")).getByRole("button", { name: "Remove profile" }));
    await waitFor(() => expect(screen.queryByRole("listitem", { name: "Acme prod" })).toBeNull());
    expect(backend.profiles.map((p) => p.summary.id)).toEqual(["demo"]);
  });

  it("switches to a profile, edits it, and signs out of it", async () => {
    const backend = await renderSettings(createMockBackend({ profiles: [demo(), mockProfile("acme", "Acme prod")] }));
    fireEvent.click(within(row("Acme prod")).getByRole("button", { name: "Switch to" }));
    await waitFor(() => expect(row("Acme prod").textContent).toContain("Active"));
    expect(backend.status.profile?.id).toBe("acme");

    fireEvent.click(within(row("Acme prod")).getByRole("button", { name: "Edit" }));
    const form = within(row("Acme prod")).getByRole("form", { name: "Edit Acme prod" });
    expect(within(form).getByLabelText<HTMLInputElement>("Gateway URL").value).toBe("https://acme.gateway.example/");
    const save = within(form).getByRole<HTMLButtonElement>("button", { name: "Save" });
    expect(save.disabled).toBe(true);
    fill(form, "Name", "Acme production");
    expect(save.disabled).toBe(false);
    fireEvent.submit(form);
    expect(await screen.findByRole("listitem", { name: "Acme production" })).toBeTruthy();
    expect(screen.getByTestId("profile-name").textContent).toBe("Acme production");

    fireEvent.click(within(row("Acme production")).getByRole("button", { name: "Sign out" }));
    await waitFor(() => expect(within(row("Acme production")).getByTestId("sign-in-state").textContent).toBe("Signed out"));
    expect(await screen.findByTestId("signed-out-banner")).toBeTruthy();
  });
});

describe("settings: where a profile's credential may go", () => {
  const SIGNS_OUT = "Changing the address or the certificate signs you out of this profile: you sign in again after saving.";

  it("says before saving that a new address or certificate signs out, then asks to sign in again", async () => {
    const backend = await renderSettings(createMockBackend({ profiles: [demo(), mockProfile("acme", "Acme prod")] }));
    // What the core answers an edit of the address (crates/core/tests/profiles.rs): the profile, signed out.
    backend.editProfile = async (id, input) => {
      const acme = backend.profiles.find((p) => p.summary.id === id)!;
      acme.summary = { ...acme.summary, name: input.name.trim(), url: input.url, signed_in: false };
      return { ...acme.summary };
    };
    fireEvent.click(within(row("Acme prod")).getByRole("button", { name: "Edit" }));
    const form = within(row("Acme prod")).getByRole("form", { name: "Edit Acme prod" });
    fill(form, "Name", "Acme prod");
    fill(form, "Gateway URL", "https://acme.gateway.example");
    expect(within(form).queryByText(SIGNS_OUT)).toBeNull();

    fill(form, "CA certificate (optional)", "-----BEGIN CERTIFICATE-----");
    expect(within(form).getByText(SIGNS_OUT)).toBeTruthy();
    fill(form, "CA certificate (optional)", "");
    expect(within(form).queryByText(SIGNS_OUT)).toBeNull();

    fill(form, "Gateway URL", "https://acme-new.gateway.example/");
    expect(within(form).getByText(SIGNS_OUT)).toBeTruthy();
    fireEvent.submit(form);
    expect(await within(row("Acme prod")).findByRole("form", { name: "Sign in to Acme prod" })).toBeTruthy();
    expect(within(row("Acme prod")).getByTestId("sign-in-state").textContent).toBe("Signed out");
    expect(row("Acme prod").textContent).toContain("https://acme-new.gateway.example/");
  });

  it("offers plain http only as a choice the admin ticks, and marks such a profile insecure", async () => {
    const backend = await renderSettings();
    const refused = "Http:// sends the password and token unencrypted, so it is only for this computer.";
    const sent: ProfileInput[] = [];
    const add = backend.addProfile;
    // What the core answers (crates/core/tests/profiles.rs): another host over http only when allowed.
    backend.addProfile = (input) => {
      sent.push(input);
      if (!input.insecure_http) return Promise.reject({ code: "invalid", message: refused, fields: [{ field: "url", message: refused }] });
      return add(input);
    };
    fireEvent.click(screen.getByRole("button", { name: "Add profile" }));
    const form = await screen.findByRole("form", { name: "Add a profile" });
    fill(form, "Name", "Acme lab");
    fill(form, "Gateway URL", "https://gw.acme.example");
    expect(within(form).queryByLabelText("Allow an insecure connection")).toBeNull();

    fill(form, "Gateway URL", "http://gw.acme.example:8080");
    const allow = within(form).getByLabelText<HTMLInputElement>("Allow an insecure connection");
    expect(allow.checked).toBe(false);
    expect(within(form).getByText(/sends your password and token unencrypted/)).toBeTruthy();
    fireEvent.submit(form);
    const url = within(form).getByLabelText("Gateway URL");
    await waitFor(() => expect(url.getAttribute("aria-invalid")).toBe("true"));
    expect(url.closest(".field")?.textContent).toContain(refused);
    expect(sent[0]?.insecure_http).toBe(false);

    fireEvent.click(allow);
    fireEvent.submit(form);
    const acme = await screen.findByRole("listitem", { name: "Acme lab" });
    expect(sent[1]?.insecure_http).toBe(true);
    expect(within(acme).getByText("Insecure connection")).toBeTruthy();
    expect(within(row("Demo organisation (on this computer)")).queryByText("Insecure connection")).toBeNull();
  });
});

describe("settings: sync and about", () => {
  it("saves a new sync interval", async () => {
    const backend = await renderSettings();
    const select = screen.getByLabelText<HTMLSelectElement>("Background sync");
    await waitFor(() => expect(select.value).toBe("300"));
    expect(Array.from(select.options).map((o) => o.textContent)).toEqual([
      "Off", "Every minute", "Every 5 minutes", "Every 15 minutes", "Every hour",
    ]);
    fireEvent.change(select, { target: { value: "60" } });
    await waitFor(() =>
      expect(backend.setSettingsCalls).toEqual([{ sync_interval_secs: 60, check_updates_at_start: true, log_level: "info", theme: "system" }]),
    );
    expect(backend.settings.sync_interval_secs).toBe(60);
    await waitFor(() => expect(select.value).toBe("60"));

    fireEvent.change(select, { target: { value: "0" } });
    await waitFor(() => expect(backend.settings.sync_interval_secs).toBe(0));
  });

  it("shows the version, and no section is a placeholder", async () => {
    const backend = createMockBackend();
    backend.version = "1.4.2";
    await renderSettings(backend);
    expect((await screen.findByTestId("app-version")).textContent).toBe("Version 1.4.2");
    const sections = Array.from(document.querySelectorAll(".settings-section h2"), (h) => h.textContent);
    expect(sections).toEqual(["Profiles", "Sync", "Cache", "Identity", "Access profiles", "Notifications", "Appearance", "Updates", "Logs", "About"]);
    expect(document.querySelector(".unavailable")).toBeNull();
  });
});

describe("settings: cache", () => {
  it("shows the cache's size and clears it after a confirmation, then reads everything again", async () => {
    const backend = await renderSettings();
    const section = screen.getByRole("region", { name: "Cache" });
    await waitFor(() => expect(within(section).getByTestId("cache-size").textContent).toContain("50.3 MB"));
    expect(within(section).getByTestId("cache-size").textContent).toContain("Demo organisation (on this computer)");

    fireEvent.click(within(section).getByRole("button", { name: "Clear cache…" }));
    const confirm = within(section).getByRole("alertdialog", { name: "Clear the cache of Demo organisation (on this computer)?" });
    fireEvent.click(within(confirm).getByRole("button", { name: "Clear and sync again" }));
    await within(section).findByText("Cleared and synced again.");
    await waitFor(() => expect(within(section).getByTestId("cache-size").textContent).toContain("4.2 MB"));
    expect(backend.cacheBytes).toBe(4 * 1024 * 1024);
  });

  it("offers no clearing while offline, and says why", async () => {
    const backend = createMockBackend();
    backend.status = { ...backend.status, offline: true };
    await renderSettings(backend);
    const section = screen.getByRole("region", { name: "Cache" });
    await waitFor(() => expect(within(section).getByTestId("cache-size")).toBeTruthy());
    expect(within(section).getByRole<HTMLButtonElement>("button", { name: "Clear cache…" }).disabled).toBe(true);
    expect(within(section).getByTestId("cache-clear-hint").textContent).toBe("Clearing is off while the gateway is unreachable.");
    expect(backend.cacheBytes).toBe(48 * 1024 * 1024);
  });
});

function section(name: string): HTMLElement {
  return screen.getByRole("region", { name });
}

describe("settings: updates", () => {
  it("says when this is the newest version, and saves the check at start", async () => {
    const backend = await renderSettings();
    const updates = section("Updates");
    const atStart = within(updates).getByLabelText<HTMLInputElement>("Check for updates when the app starts");
    await waitFor(() => expect(atStart.checked).toBe(true));
    fireEvent.click(within(updates).getByRole("button", { name: "Check for updates" }));
    await waitFor(() => expect(within(updates).getByTestId("update-status").textContent).toBe("This is the newest version."));
    expect(within(updates).queryByRole("button", { name: /Download/ })).toBeNull();

    fireEvent.click(atStart);
    await waitFor(() => expect(backend.settings.check_updates_at_start).toBe(false));
    expect(backend.settings.sync_interval_secs).toBe(300);
    await waitFor(() => expect(atStart.checked).toBe(false));
    expect(backend.updateSteps).toEqual(["check"]);
  });

  it("finds a new version, downloads it with progress, then installs and restarts", async () => {
    const backend = createMockBackend();
    backend.updateOffer = mockUpdate("0.2.0");
    await renderSettings(backend);
    const updates = section("Updates");
    fireEvent.click(within(updates).getByRole("button", { name: "Check for updates" }));
    await waitFor(() =>
      expect(within(updates).getByTestId("update-status").textContent).toBe("Version 0.2.0 is available (this is 0.1.0)."),
    );
    expect(updates.textContent).toContain("Faster sync and a clearer audit log.");

    let resume = () => {};
    backend.updateHalfway = new Promise((r) => (resume = r));
    fireEvent.click(within(updates).getByRole("button", { name: "Download version 0.2.0" }));
    const bar = await within(updates).findByTestId<HTMLProgressElement>("update-progress");
    await waitFor(() => expect(bar.value).toBe(50));
    expect(bar.parentElement?.textContent).toContain("4.0 of 8.0 MB");
    expect(within(updates).queryByRole("button", { name: "Install and restart" })).toBeNull();
    resume();
    await waitFor(() =>
      expect(within(updates).getByTestId("update-status").textContent).toBe(
        "Version 0.2.0 is downloaded and its signature verified.",
      ),
    );
    expect(within(updates).queryByTestId("update-progress")).toBeNull();

    fireEvent.click(within(updates).getByRole("button", { name: "Install and restart" }));
    await waitFor(() => expect(backend.updateSteps).toEqual(["check", "download", "install", "restart"]));
  });

  it("shows a version the check at start found without asking again", async () => {
    const backend = createMockBackend();
    backend.updateFound = mockUpdate("0.3.1");
    await renderSettings(backend);
    await waitFor(() =>
      expect(within(section("Updates")).getByTestId("update-status").textContent).toBe(
        "Version 0.3.1 is available (this is 0.1.0).",
      ),
    );
    expect(within(section("Updates")).getByRole("button", { name: "Download version 0.3.1" })).toBeTruthy();
    expect(backend.updateSteps).toEqual([]);
  });

  it("says so when a download fails its signature check, and offers no install", async () => {
    const backend = createMockBackend();
    backend.updateFound = mockUpdate("0.2.0");
    backend.updateRefusal = {
      code: "update_signature",
      message: "The downloaded update does not match its signature (it may have been altered on the way), so it was not installed.",
    };
    await renderSettings(backend);
    const updates = section("Updates");
    fireEvent.click(await within(updates).findByRole("button", { name: "Download version 0.2.0" }));
    expect((await within(updates).findByRole("alert")).textContent).toContain("does not match its signature");
    expect(within(updates).queryByRole("button", { name: "Install and restart" })).toBeNull();
    expect(backend.updateSteps).toEqual(["download"]);
  });
});

describe("settings: logs", () => {
  it("shows the log folder, opens it, and saves a new level", async () => {
    const backend = await renderSettings();
    const logs = section("Logs");
    expect((await within(logs).findByTestId("log-dir")).textContent).toBe(backend.logs.dir);
    fireEvent.click(within(logs).getByRole("button", { name: "Open log folder" }));
    await waitFor(() => expect(backend.logFolderOpened).toBe(1));

    const level = within(logs).getByLabelText<HTMLSelectElement>("Log level");
    await waitFor(() => expect(level.value).toBe("info"));
    expect(Array.from(level.options).map((o) => o.value)).toEqual(["error", "warn", "info", "debug", "trace"]);
    fireEvent.change(level, { target: { value: "debug" } });
    await waitFor(() => expect(backend.settings.log_level).toBe("debug"));
    expect(backend.settings.sync_interval_secs).toBe(300);
    await waitFor(() => expect(level.value).toBe("debug"));
  });

  it("says RUST_LOG decides the level when it is set, and offers no choice", async () => {
    const backend = createMockBackend();
    backend.logs = { ...backend.logs, level_from_env: true };
    await renderSettings(backend);
    const logs = section("Logs");
    await within(logs).findByTestId("log-dir");
    const level = within(logs).getByLabelText<HTMLSelectElement>("Log level");
    await waitFor(() => expect(level.disabled).toBe(true));
    expect(logs.textContent).toContain("RUST_LOG is set, so it decides the level.");
  });
});

describe("settings: appearance", () => {
  it("saves the theme chosen, keeping the other settings", async () => {
    const backend = await renderSettings();
    const theme = within(section("Appearance")).getByLabelText<HTMLSelectElement>("Theme");
    await waitFor(() => expect(theme.value).toBe("system"));
    expect(Array.from(theme.options).map((o) => o.value)).toEqual(["system", "light", "dark"]);
    fireEvent.change(theme, { target: { value: "dark" } });
    await waitFor(() => expect(backend.settings.theme).toBe("dark"));
    expect(backend.settings.log_level).toBe("info");
    await waitFor(() => expect(theme.value).toBe("dark"));
  });
});
