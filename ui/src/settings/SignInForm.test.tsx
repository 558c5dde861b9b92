import { cleanup, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { createMockBackend, mockProfile, readyStatus, type MockBackend } from "../backend/mock";
import { renderApp } from "../test/render";

const demo = () => ({ summary: readyStatus().profile!, ca_pem: null });

/** Settings with a signed-out profile "Acme prod", its sign-in form open. */
async function signInForm(backend: MockBackend = createMockBackend({ profiles: [demo(), mockProfile("acme", "Acme prod", { signed_in: false })] })) {
  window.location.hash = "#settings";
  renderApp(backend);
  await screen.findByRole("heading", { name: "Settings" });
  const acme = await screen.findByRole("listitem", { name: "Acme prod" });
  fireEvent.click(within(acme).getByRole("button", { name: "Sign in" }));
  const form = within(acme).getByRole("form", { name: "Sign in to Acme prod" });
  return { backend, form, sso: await within(form).findByRole("group", { name: "Single sign-on" }) };
}

function signInState(): string {
  return within(screen.getByRole("listitem", { name: "Acme prod" })).getByTestId("sign-in-state").textContent ?? "";
}

describe("settings: sign in with SSO", () => {
  it("offers the providers the gateway has set up, by its names, and none when it has none", async () => {
    const { sso } = await signInForm();
    const options = within(sso).getAllByRole("option").map((o) => o.textContent);
    expect(options).toEqual(["Northwind SSO", "Microsoft"]);

    const none = createMockBackend({ profiles: [demo(), mockProfile("acme", "Acme prod", { signed_in: false })] });
    none.ssoProviders = [];
    cleanup();
    window.location.hash = "#settings";
    renderApp(none);
    const acme = await screen.findByRole("listitem", { name: "Acme prod" });
    fireEvent.click(within(acme).getByRole("button", { name: "Sign in" }));
    const form = within(acme).getByRole("form", { name: "Sign in to Acme prod" });
    await waitFor(() => expect(within(form).getByRole("button", { name: "Sign in" })).toBeTruthy());
    expect(within(form).queryByRole("group", { name: "Single sign-on" })).toBeNull();
  });

  it("waits for the browser with a Cancel button, then signs in", async () => {
    const { backend, form, sso } = await signInForm();
    fireEvent.change(within(sso).getByLabelText("Identity provider"), { target: { value: "microsoft" } });
    fireEvent.click(within(sso).getByRole("button", { name: "Sign in with SSO" }));

    expect((await within(sso).findByRole("status")).textContent).toBe(
      "Waiting for your browser… Finish signing in with Microsoft there.",
    );
    expect(within(sso).getByRole("button", { name: "Cancel" })).toBeTruthy();
    expect(within(sso).queryByRole("button", { name: "Sign in with SSO" })).toBeNull();
    expect(within(form).getByRole<HTMLButtonElement>("button", { name: "Sign in" }).disabled).toBe(true);
    expect(backend.ssoCalls).toEqual(["microsoft"]);

    backend.finishSso!("signed_in");
    await waitFor(() => expect(signInState()).toBe("Signed in"));
    expect(backend.status).toMatchObject({ phase: "ready", profile: { name: "Acme prod" } });
    expect(screen.queryByRole("form", { name: "Sign in to Acme prod" })).toBeNull();
  });

  it("cancels the wait and says so quietly, staying signed out", async () => {
    const { backend, sso } = await signInForm();
    fireEvent.click(within(sso).getByRole("button", { name: "Sign in with SSO" }));
    await within(sso).findByText(/Waiting for your browser/);
    expect(backend.ssoCalls).toEqual(["oidc"]);

    fireEvent.click(within(sso).getByRole("button", { name: "Cancel" }));
    await waitFor(() => expect(within(sso).getByRole("status").textContent).toBe("Sign-in cancelled."));
    expect(within(sso).queryByText(/Waiting for your browser/)).toBeNull();
    expect(within(sso).queryByRole("alert")).toBeNull();
    expect(within(sso).getByRole("button", { name: "Sign in with SSO" })).toBeTruthy();
    expect(signInState()).toBe("Signed out");
    expect(backend.status.profile?.id).toBe("demo");
  });

  it("shows the gateway's refusal in its own words, and the time-out plainly", async () => {
    const backend = createMockBackend({ profiles: [demo(), mockProfile("acme", "Acme prod", { signed_in: false })] });
    backend.ssoOutcome = {
      code: "forbidden",
      message: "stranger@elsewhere.example has no account in this organisation, and no invitation. Ask an admin to invite you.",
    };
    const { sso } = await signInForm(backend);
    fireEvent.click(within(sso).getByRole("button", { name: "Sign in with SSO" }));
    expect((await within(sso).findByRole("alert")).textContent).toBe(
      "stranger@elsewhere.example has no account in this organisation, and no invitation. Ask an admin to invite you.",
    );
    expect(within(sso).queryByText(/Waiting for your browser/)).toBeNull();
    expect(signInState()).toBe("Signed out");

    backend.ssoOutcome = { code: "timed_out", message: "Nobody finished signing in in the browser within 5 minutes; start again." };
    fireEvent.click(within(sso).getByRole("button", { name: "Sign in with SSO" }));
    await waitFor(() =>
      expect(within(sso).getByRole("alert").textContent).toBe("Nobody finished signing in in the browser within 5 minutes; start again."),
    );
    expect(backend.ssoCalls).toEqual(["oidc", "oidc"]);
  });
});
