import { cleanup, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { AUDITOR_PERMISSIONS, createMockBackend, readyStatus, type MockBackend } from "../backend/mock";
import { quietForecast } from "../backend/mockReads";
import type { ApiKey } from "../bindings/ApiKey";
import type { UsageFilter } from "../bindings/UsageFilter";
import type { User } from "../bindings/User";
import type { UserDetail } from "../bindings/UserDetail";
import { formatUsd, formatInputDay } from "../format";
import { walkChart } from "../test/charts";
import { renderApp } from "../test/render";
import { endOfLocalDay, GRACE_CHOICES, NEW_KEY_MESSAGE, ROTATED_KEY_MESSAGE } from "./ApiKeys";

/** An API key with no policy of its own, but for `overrides`. */
function apiKey(overrides: Partial<ApiKey>): ApiKey {
  return {
    id: "key_1",
    user_id: "usr_00000",
    name: "laptop",
    prefix: "gw_live_ab",
    created_at: "2026-11-01T00:00:00Z",
    last_used_at: null,
    revoked_at: null,
    expires_at: null,
    model_ids: null,
    limits: { requests_per_min: null, input_tokens_per_min: null, output_tokens_per_min: null, max_concurrent: null },
    budget: { daily_usd: null, weekly_usd: null, monthly_usd: null, alert_thresholds: [] },
    rotated_at: null,
    previous_secret_expires_at: null,
    revision: 1,
    ...overrides,
  };
}

/** The mock's detail of `id`, with a group, own and group values, a grant, a key and spend. */
function richBackend(backend: MockBackend = createMockBackend()): MockBackend {
  const plain = backend.userDetail;
  backend.userDetail = async (id): Promise<UserDetail> => {
    const d = await plain(id);
    return {
      ...d,
      groups: [{ id: "grp_eng", name: "Engineering", role: "member" }],
      workspaces: [{ id: "ws_research", name: "Research", role: "operator" }],
      grants: [{ subject_kind: "user", subject_id: id, model_id: "echo", created_at: d.user.created_at, revision: 1 }],
      limits: { ...d.limits, requests_per_min: 120 },
      budget: { ...d.budget, monthly_usd: 100 },
      effective: {
        ...d.effective,
        grants: [{ model_id: "echo", sources: ["user", "grp_eng"] }],
        limits: { ...d.effective.limits, requests_per_min: { value: 60, source: "grp_eng" } },
        budget: { ...d.effective.budget, monthly_usd: { value: 100, source: "user" } },
      },
      api_keys: [
        apiKey({ id: "key_1", user_id: id, name: "laptop", prefix: "gw_live_ab", created_at: d.user.created_at }),
      ],
      audit: [
        { id: "aud_1", at: "2026-11-02T10:00:00Z", actor_id: "usr_99999", action: "user.suspend", target_kind: "user", target_id: id, summary: null, revision: 3 },
      ],
    };
  };
  backend.budgetStatus = async (subject) => ({
    subject,
    time_zone: "UTC",
    periods: [],
    daily_cap_usd: 5,
    daily_cap_group: null,
    monthly_cap_group: "Engineering",
    monthly_cap_usd: 100,
    month: [
      { day: "2026-11-01", spent_usd: 2, cumulative_usd: 2 },
      { day: "2026-11-02", spent_usd: 7, cumulative_usd: 9 },
    ],
    forecast: quietForecast(),
  });
  return backend;
}

function auditorBackend(): MockBackend {
  const status = readyStatus();
  // Someone else than the user the tests open: everyone manages their own keys.
  const me = { ...status.me!, user: { ...status.me!.user, id: "usr_auditor" }, permissions: AUDITOR_PERMISSIONS };
  return richBackend(createMockBackend({ status: { ...status, me } }));
}

async function openUser(id: string, backend: MockBackend) {
  window.location.hash = `#users/${id}`;
  const result = renderApp(backend);
  await screen.findByRole("heading", { level: 1 });
  return result;
}

function detail(): HTMLElement {
  return screen.getByRole("region", { name: screen.getByRole("heading", { level: 1 }).textContent! });
}

describe("user detail", () => {
  it("shows each effective limit and cap with where it comes from", async () => {
    await openUser("usr_00000", richBackend());
    expect(screen.getByRole("heading", { level: 1 }).textContent).toBe("Avery Quinn");
    await waitFor(() => expect(screen.getByTestId("policy-requests_per_min")).toBeTruthy());
    const rpm = screen.getByTestId("policy-requests_per_min");
    expect(within(rpm).getByLabelText("Requests per minute")).toHaveProperty("value", "120");
    expect(within(rpm).getByTestId("effective").textContent).toBe("Effective: 60 (from group Engineering)");
    expect(within(screen.getByTestId("policy-monthly_usd")).getByTestId("effective").textContent).toBe("Effective: $100.00 (own)");
    expect(within(screen.getByTestId("policy-daily_usd")).getByTestId("effective").textContent).toBe("Effective: none (not set anywhere)");
    expect((await screen.findByTestId("grant")).textContent).toContain("Echo (own, from group Engineering)");
    expect(screen.getByText("Research")).toBeTruthy();
    expect(screen.getByTestId("audit-entry").textContent).toContain("user.suspend");
    // The chart comes from the user's budget status: the mock's two days of spend, over the month.
    const chart = await screen.findByTestId("budget-chart");
    const days = walkChart(chart, chart.querySelector("svg[tabindex='0']")!);
    expect(days.length).toBeGreaterThanOrEqual(28);
    expect(days.filter((d) => d.values.Spent !== undefined).length).toBe(2);
  });

  it("shows the user's usage by model over the last 30 days, asked of the cache for that user", async () => {
    const backend = richBackend();
    const asked: UsageFilter[] = [];
    const chart = backend.usageChart;
    backend.usageChart = (filter) => {
      asked.push(filter);
      return chart(filter);
    };
    await openUser("usr_00007", backend);
    const trend = await screen.findByRole("region", { name: "Usage by model, last 30 days" });
    const table = await within(trend).findByTestId("usage-table");
    const models = within(table).getAllByRole("row").map((r) => r.querySelector("th")?.textContent);
    expect(models.slice(1, -1).length).toBeGreaterThan(0);
    expect(models.at(-1)).toBe("Total");
    expect(asked.at(-1)).toMatchObject({ group_by: "model", user_id: "usr_00007" });
    const days = (Date.parse(asked.at(-1)!.to) - Date.parse(asked.at(-1)!.from)) / 86_400_000 + 1;
    expect(days).toBe(30);
  });

  it("saves limits as one set_limits change, and shows the gateway's field errors next to the inputs", async () => {
    const backend = richBackend();
    const apply = backend.applyChange;
    let refuse = true;
    backend.applyChange = async (change) => {
      if (refuse) {
        refuse = false;
        throw { code: "validation_failed", message: "Invalid limits.", fields: [{ field: "max_concurrent", message: "At most 1000." }] };
      }
      return apply(change);
    };
    await openUser("usr_00000", backend);
    const concurrent = await screen.findByLabelText("Concurrent requests");
    fireEvent.change(concurrent, { target: { value: "5000" } });
    fireEvent.click(screen.getByRole("button", { name: "Save rate limits" }));
    expect((await within(screen.getByTestId("policy-max_concurrent")).findByTestId("field-error")).textContent).toBe("At most 1000.");
    expect(concurrent.getAttribute("aria-invalid")).toBe("true");

    fireEvent.change(concurrent, { target: { value: "8" } });
    fireEvent.click(screen.getByRole("button", { name: "Save rate limits" }));
    await waitFor(() => expect(backend.changes).toHaveLength(1));
    expect(backend.changes[0]).toEqual({
      op: "set_limits",
      subject_kind: "user",
      subject_id: "usr_00000",
      limits: { requests_per_min: 120, input_tokens_per_min: null, output_tokens_per_min: null, max_concurrent: 8 },
    });
  });

  it("asks before deleting, naming the user and what goes and what stays", async () => {
    const { backend } = await openUser("usr_00001", richBackend());
    fireEvent.click(screen.getByRole("button", { name: "Delete…" }));
    const dialog = screen.getByRole("alertdialog");
    expect(within(dialog).getByText("Delete Blake Quinn?")).toBeTruthy();
    const text = within(dialog).getByTestId("delete-confirmation").textContent!;
    expect(text).toContain("Blake Quinn (blake.quinn@northwind.example)");
    expect(text).toContain("API keys, model grants, and workspace and group memberships");
    expect(text).toContain("usage and audit history stay");
    expect(backend.changes).toHaveLength(0);

    fireEvent.click(within(dialog).getByRole("button", { name: "Delete Blake Quinn" }));
    await waitFor(() => expect(backend.changes).toEqual([{ op: "delete_user", id: "usr_00001" }]));
    await waitFor(() => expect(window.location.hash).toBe("#users"));
  });

  it("leaves name and active status of an account the identity provider manages to the provider", async () => {
    const backend = richBackend();
    const rich = backend.userDetail;
    backend.userDetail = async (id) => {
      const d = await rich(id);
      return id === "usr_00001" ? { ...d, user: { ...d.user, scim_managed: true } } : d;
    };
    await openUser("usr_00001", backend);
    expect(screen.getByTestId("scim-managed").textContent).toBe("Managed by your identity provider (SCIM)");
    expect(screen.getAllByTestId("scim-managed-reason").map((p) => p.textContent)).toEqual([
      "Your identity provider manages this account; change it there.",
      "Your identity provider manages this account; change it there.",
    ]);
    expect(screen.getByLabelText("First name")).toHaveProperty("disabled", true);
    expect(screen.getByLabelText("Last name")).toHaveProperty("disabled", true);
    expect(screen.getByRole("button", { name: "Suspend…" })).toHaveProperty("disabled", true);
    // What the provider does not manage stays the console's.
    expect(screen.getByLabelText("Role")).toHaveProperty("disabled", false);
    fireEvent.click(screen.getByRole("button", { name: "Send password reset" }));
    await waitFor(() => expect(backend.changes).toEqual([{ op: "send_password_reset", id: "usr_00001" }]));
  });

  it("says how the person signs in", async () => {
    const backend = richBackend();
    const rich = backend.userDetail;
    let user: Partial<User> = {};
    backend.userDetail = async (id) => {
      const d = await rich(id);
      return { ...d, user: { ...d.user, ...user } };
    };
    const cases: [Partial<User>, string][] = [
      [{ identity_issuer: "https://login.microsoftonline.com/4f2b1c9e-8a7d-4e3f-9b6a-1c2d3e4f5a6b/v2.0", has_password: false }, "Signs in with Microsoft"],
      [{ identity_issuer: "https://accounts.google.com", has_password: true }, "Signs in with Google or a password"],
      [{ identity_issuer: "https://acme.okta.com", has_password: false }, "Signs in with acme.okta.com"],
      [{ identity_issuer: null, has_password: true }, "Signs in with a password"],
      [{ identity_issuer: null, has_password: false }, "No password and no identity provider account (tokens only)"],
    ];
    for (const [fields, text] of cases) {
      user = fields;
      cleanup();
      await openUser("usr_00001", backend);
      expect(screen.getByTestId("sign-in").textContent).toBe(text);
    }
  });

  it("lets the console change an account no identity provider manages", async () => {
    await openUser("usr_00001", richBackend());
    expect(screen.queryByTestId("scim-managed")).toBeNull();
    expect(screen.queryByTestId("scim-managed-reason")).toBeNull();
    expect(screen.getByLabelText("First name")).toHaveProperty("disabled", false);
    expect(screen.getByRole("button", { name: "Suspend…" })).toHaveProperty("disabled", false);
  });

  it("offers Save only once something differs from what is saved", async () => {
    await openUser("usr_00000", richBackend());
    const save = await screen.findByRole("button", { name: "Save rate limits" });
    expect(save).toHaveProperty("disabled", true);
    const rpm = within(screen.getByTestId("policy-requests_per_min")).getByLabelText("Requests per minute");
    fireEvent.change(rpm, { target: { value: "90" } });
    expect(save).toHaveProperty("disabled", false);
    fireEvent.change(rpm, { target: { value: "120" } });
    expect(save).toHaveProperty("disabled", true);
  });

  it("asks before suspending, with an optional reason; Escape backs out of it and of Delete", async () => {
    const { backend } = await openUser("usr_00001", richBackend());
    fireEvent.click(screen.getByRole("button", { name: "Delete…" }));
    fireEvent.keyDown(screen.getByRole("alertdialog"), { key: "Escape" });
    expect(screen.queryByRole("alertdialog")).toBeNull();
    fireEvent.click(screen.getByRole("button", { name: "Suspend…" }));
    const ask = screen.getByRole("alertdialog", { name: /^Suspend / });
    expect(backend.changes).toEqual([]);
    fireEvent.change(within(ask).getByLabelText("Reason (optional, kept in the audit log)"), { target: { value: "On leave" } });
    fireEvent.click(within(ask).getByRole("button", { name: "Suspend" }));
    await waitFor(() => expect(backend.changes).toEqual([{ op: "suspend_user", id: "usr_00001", reason: "On leave" }]));
    expect(await screen.findByText("Suspended.")).toBeTruthy();
    expect(screen.queryByRole("alertdialog")).toBeNull();
  });

  it("offers the lifecycle changes of the user's status", async () => {
    // User 4, Eli Quinn, is pending.
    const { backend } = await openUser("usr_00004", richBackend());
    expect(screen.getByRole("heading", { level: 1 }).textContent).toBe("Eli Quinn");
    expect(screen.queryByRole("button", { name: "Suspend…" })).toBeNull();
    fireEvent.click(screen.getByRole("button", { name: "Approve" }));
    await waitFor(() => expect(backend.changes).toEqual([{ op: "approve_user", id: "usr_00004" }]));
    expect((await screen.findByText("Approved.")).getAttribute("role")).toBe("status");
    expect(screen.getByRole("button", { name: "Decline" })).toBeTruthy();
  });

  it("edits the profile with only what changed, and shows a refusal's message", async () => {
    const backend = richBackend();
    const apply = backend.applyChange;
    backend.applyChange = async (change) => {
      if (change.op === "patch_user" && change.patch.role === "member") throw { code: "forbidden", message: "Admins cannot demote themselves." };
      return apply(change);
    };
    await openUser("usr_00000", backend);
    const save = screen.getByRole("button", { name: "Save profile" });
    expect(save).toHaveProperty("disabled", true);
    fireEvent.change(screen.getByLabelText("Role"), { target: { value: "member" } });
    fireEvent.click(save);
    expect((await screen.findByText("Admins cannot demote themselves.")).getAttribute("role")).toBe("alert");

    fireEvent.change(screen.getByLabelText("Role"), { target: { value: "admin" } });
    fireEvent.change(screen.getByLabelText("Last name"), { target: { value: "Quinn-Ray" } });
    fireEvent.click(save);
    await waitFor(() => expect(backend.changes).toEqual([{ op: "patch_user", id: "usr_00000", patch: { last_name: "Quinn-Ray" } }]));
  });

  it("creates a key with an expiry, a model subset, limits and a budget", async () => {
    const backend = richBackend();
    await openUser("usr_00000", backend);
    const form = screen.getByRole("form", { name: "New API key" });
    fireEvent.change(within(form).getByLabelText("New key's name"), { target: { value: "ci" } });
    // A day that does not exist is refused next to the field; the locale's own writing is read.
    const expires = within(form).getByLabelText("Key expires on");
    fireEvent.change(expires, { target: { value: "2030-02-30" } });
    expect(expires.getAttribute("aria-invalid")).toBe("true");
    fireEvent.click(within(form).getByRole("button", { name: "Create key" }));
    expect((await within(form).findByTestId("field-error")).textContent).toContain("Enter the day as a date such as");
    expect(backend.changes).toEqual([]);
    fireEvent.change(expires, { target: { value: formatInputDay("2030-01-31") } });
    fireEvent.click(within(form).getByLabelText("Model echo"));
    fireEvent.change(within(form).getByLabelText("Key requests per minute"), { target: { value: "10" } });
    fireEvent.change(within(form).getByLabelText("Key daily budget (USD)"), { target: { value: "5" } });
    fireEvent.change(within(form).getByLabelText("Key monthly budget (USD)"), { target: { value: "50" } });
    fireEvent.click(within(form).getByRole("button", { name: "Create key" }));
    expect(await screen.findByText(NEW_KEY_MESSAGE)).toBeTruthy();
    expect(backend.changes).toEqual([
      {
        op: "create_key",
        user_id: "usr_00000",
        name: "ci",
        expires_at: endOfLocalDay("2030-01-31"),
        model_ids: ["echo"],
        limits: { requests_per_min: 10, input_tokens_per_min: null, output_tokens_per_min: null, max_concurrent: null },
        // A new key alerts at its user's percents.
        budget: { daily_usd: 5, weekly_usd: null, monthly_usd: 50, alert_thresholds: [50, 80, 100] },
      },
    ]);
    // The form starts over for the next key.
    expect((within(form).getByLabelText("New key's name") as HTMLInputElement).value).toBe("");
  });

  it("shows a key's expiry, models, policy and spend, and edits, rotates and revokes it", async () => {
    const backend = richBackend();
    const rich = backend.userDetail;
    backend.userDetail = async (id) => {
      const d = await rich(id);
      return {
        ...d,
        api_keys: [
          apiKey({
            expires_at: "2020-01-01T00:00:00Z",
            model_ids: ["echo"],
            limits: { requests_per_min: 5, input_tokens_per_min: null, output_tokens_per_min: null, max_concurrent: null },
            budget: { daily_usd: 2, weekly_usd: null, monthly_usd: null, alert_thresholds: [] },
          }),
          apiKey({ id: "key_2", name: "ci", created_at: "2026-11-02T00:00:00Z" }),
        ],
        key_spend_mtd_usd: { key_1: 1.5 },
      };
    };
    await openUser("usr_00000", backend);
    const [laptop, ci] = await screen.findAllByTestId("api-key");
    expect(within(laptop!).getByText("expired")).toBeTruthy();
    const policy = within(laptop!).getByTestId("api-key-policy").textContent ?? "";
    expect(policy).toContain("Models: echo");
    expect(policy).toContain("5 requests/min");
    expect(policy).toContain(`${formatUsd(2)} a day`);
    // A key's budget resets with the org's periods, as the user's status says.
    await waitFor(() =>
      expect(within(laptop!).getByTestId("api-key-policy").textContent).toContain(`${formatUsd(2)} a day (resets in `),
    );
    expect(policy).toContain(`${formatUsd(1.5)} this month`);
    expect(within(ci!).queryByText("expired")).toBeNull();
    expect(within(ci!).getByTestId("api-key-policy").textContent).toContain("All of the user's models");

    fireEvent.click(screen.getByRole("button", { name: "Edit laptop" }));
    const edit = screen.getByRole("form", { name: "Edit API key laptop" });
    expect((within(edit).getByLabelText("Key name") as HTMLInputElement).value).toBe("laptop");
    expect((within(edit).getByLabelText("Model echo") as HTMLInputElement).checked).toBe(true);
    const saveKey = within(edit).getByRole<HTMLButtonElement>("button", { name: "Save key" });
    expect(saveKey.disabled).toBe(true);
    fireEvent.change(within(edit).getByLabelText("Key expires on"), { target: { value: "2031-06-30" } });
    expect(saveKey.disabled).toBe(false);
    fireEvent.change(within(edit).getByLabelText("Key weekly budget (USD)"), { target: { value: "20" } });
    fireEvent.click(within(edit).getByRole("button", { name: "Save key" }));
    await waitFor(() =>
      expect(backend.changes).toEqual([
        {
          op: "update_key",
          id: "key_1",
          patch: {
            name: "laptop",
            expires_at: endOfLocalDay("2031-06-30"),
            model_ids: ["echo"],
            limits: { requests_per_min: 5, input_tokens_per_min: null, output_tokens_per_min: null, max_concurrent: null },
            budget: { daily_usd: 2, weekly_usd: 20, monthly_usd: null, alert_thresholds: [] },
          },
        },
      ]),
    );

    fireEvent.click(await screen.findByRole("button", { name: "Rotate ci" }));
    const rotate = screen.getByRole("form", { name: "Rotate API key ci" });
    expect(within(rotate).getAllByRole("option").map((o) => o.textContent)).toEqual(GRACE_CHOICES.map((c) => c.label));
    fireEvent.change(within(rotate).getByLabelText("Old secret keeps working for"), { target: { value: "86400" } });
    fireEvent.click(within(rotate).getByRole("button", { name: "Rotate key" }));
    expect(await screen.findByText(ROTATED_KEY_MESSAGE)).toBeTruthy();
    expect(backend.changes.at(-1)).toEqual({ op: "rotate_key", id: "key_2", grace_seconds: 86_400 });

    fireEvent.click(screen.getByRole("button", { name: "Revoke ci" }));
    await waitFor(() => expect(backend.changes.at(-1)).toEqual({ op: "revoke_key", id: "key_2" }));
  });

  it("creates a key, says it is on the clipboard, and never shows a secret", async () => {
    const backend = richBackend();
    const clipboard: string[] = [];
    backend.applyChange = async (change) => {
      backend.changes.push(change);
      if (change.op !== "create_key") return { kind: "done" };
      // The backend puts the secret on the clipboard; the UI gets the key without it.
      clipboard.push("gw_live_abSECRETSECRET");
      return { kind: "api_key", value: apiKey({ id: "key_2", user_id: change.user_id, name: change.name, prefix: "gw_live_cd", revision: 2 }) };
    };
    await openUser("usr_00000", backend);
    const create = screen.getByRole("button", { name: "Create key" });
    expect(create).toHaveProperty("disabled", true);
    fireEvent.change(screen.getByLabelText("New key's name"), { target: { value: " ci runner " } });
    fireEvent.click(create);
    expect(await screen.findByText("The new key is on your clipboard and is never shown here: paste it where it is needed now.")).toBeTruthy();
    expect(backend.changes).toEqual([{ op: "create_key", user_id: "usr_00000", name: "ci runner" }]);
    expect(clipboard).toHaveLength(1);
    expect(document.body.textContent).not.toContain("SECRET");

    fireEvent.click(screen.getByRole("button", { name: "Revoke laptop" }));
    await waitFor(() => expect(backend.changes.at(-1)).toEqual({ op: "revoke_key", id: "key_1" }));
  });

  it("grants a picked model and revokes the user's own grant", async () => {
    const backend = richBackend();
    backend.reads.models = [...backend.reads.models, { ...backend.reads.models[0]!, id: "gpt", display_name: "GPT" }];
    await openUser("usr_00000", backend);
    const picker = screen.getByRole("combobox", { name: "Model to grant" });
    // Echo is granted already: only GPT is offered.
    await waitFor(() => expect(within(picker).getAllByRole("option").map((o) => o.textContent)).toEqual(["Pick a model…", "GPT"]));
    fireEvent.change(picker, { target: { value: "gpt" } });
    fireEvent.click(screen.getByRole("button", { name: "Grant" }));
    await waitFor(() => expect(backend.changes).toEqual([{ op: "grant", subject_kind: "user", subject_id: "usr_00000", model_id: "gpt" }]));
    fireEvent.click(screen.getByRole("button", { name: "Revoke Echo" }));
    await waitFor(() => expect(backend.changes.at(-1)).toEqual({ op: "revoke_grant", subject_kind: "user", subject_id: "usr_00000", model_id: "echo" }));
  });

  it("says when an own value is looser than a group's, which still applies", async () => {
    await openUser("usr_00000", richBackend());
    const rpm = await screen.findByTestId("policy-requests_per_min");
    // Own 120 requests a minute, the group Engineering's 60 applies.
    expect(within(rpm).getByTestId("inherited-applies").textContent).toBe("The own 120 is looser: group Engineering's 60 still applies.");
    // The own monthly cap is the effective one: nothing to say.
    expect(within(screen.getByTestId("policy-monthly_usd")).queryByTestId("inherited-applies")).toBeNull();
  });

  it("offers an auditor no change, while an admin sees the same user's actions", async () => {
    await openUser("usr_00000", auditorBackend());
    await screen.findByTestId("policy-requests_per_min");
    const section = detail();
    expect(within(section).queryAllByRole("button")).toHaveLength(0);
    expect(within(section).queryAllByRole("textbox")).toHaveLength(0);
    expect(within(section).queryAllByRole("combobox")).toHaveLength(0);
    // Still readable: own and effective values, keys, memberships.
    expect(within(screen.getByTestId("policy-requests_per_min")).getByTestId("effective").textContent).toBe("Effective: 60 (from group Engineering)");
    expect(screen.getByTestId("api-key").textContent).toContain("laptop");
  });

  it("shows an admin the write actions the auditor does not get", async () => {
    await openUser("usr_00000", richBackend());
    await screen.findByTestId("policy-requests_per_min");
    const names = within(detail()).getAllByRole("button").map((b) => b.textContent);
    expect(names).toEqual(expect.arrayContaining(["Save profile", "Suspend…", "Delete…", "Save rate limits", "Save budget", "Create key", "Revoke laptop"]));
  });

  it("offers an operator the policy and keys, not the profile, lifecycle or audit trail", async () => {
    const status = readyStatus();
    const permissions = ["org.read", "users.read", "workspaces.read", "groups.read", "models.read", "policy.write", "keys.read", "keys.write", "usage.read"];
    await openUser("usr_00000", richBackend(createMockBackend({ status: { ...status, me: { ...status.me!, permissions } } })));
    await screen.findByTestId("policy-requests_per_min");
    const names = within(detail()).getAllByRole("button").map((b) => b.textContent);
    expect(names).toEqual(expect.arrayContaining(["Save rate limits", "Save budget", "Create key", "Grant"]));
    expect(names).not.toContain("Save profile");
    expect(names).not.toContain("Suspend…");
    expect(names).not.toContain("Delete…");
    expect(screen.queryByRole("heading", { name: "Audit trail" })).toBeNull();
  });

  it("lets a member manage their own keys and nobody else's", async () => {
    const status = readyStatus();
    // usr_00000 is the signed-in user; members hold no `keys.write`.
    const permissions = ["org.read", "models.read", "users.read", "usage.read"];
    const member = () => richBackend(createMockBackend({ status: { ...status, me: { ...status.me!, permissions } } }));
    await openUser("usr_00000", member());
    await screen.findByTestId("policy-requests_per_min");
    let names = within(detail()).getAllByRole("button").map((b) => b.textContent);
    expect(names).toEqual(expect.arrayContaining(["Create key", "Edit laptop", "Rotate laptop", "Revoke laptop"]));
    expect(names).not.toContain("Save budget");
    cleanup();

    await openUser("usr_00001", member());
    await screen.findByTestId("policy-requests_per_min");
    names = within(detail()).queryAllByRole("button").map((b) => b.textContent);
    expect(names).not.toContain("Create key");
    expect(screen.queryByRole("heading", { name: "API keys" })).toBeNull();
  });

  it("shows the cache's error for an unknown user", async () => {
    window.location.hash = "#users/usr_nobody";
    renderApp();
    expect((await screen.findByRole("alert")).textContent).toBe("No such user in the cache.");
  });
});
