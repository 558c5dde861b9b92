import { describe, expect, it } from "vitest";
import { extractAddresses, isAddress } from "./extract";

describe("extractAddresses", () => {
  it("finds addresses in a pasted list of names, lines and separators", () => {
    const text = `Ana Ruiz <ana@acme.example>, bo@acme.example; "Cy" (cy@sub.acme.example)
mailto:di@acme.example. Notes without addresses`;
    expect(extractAddresses(text)).toEqual([
      { address: "ana@acme.example", kind: "valid" },
      { address: "bo@acme.example", kind: "valid" },
      { address: "cy@sub.acme.example", kind: "valid" },
      { address: "di@acme.example", kind: "valid" },
    ]);
  });

  it("marks a repeat (in any case) as a duplicate and keeps the first", () => {
    expect(extractAddresses("a@x.example A@X.example a@x.example")).toEqual([
      { address: "a@x.example", kind: "valid" },
      { address: "a@x.example", kind: "duplicate" },
      { address: "a@x.example", kind: "duplicate" },
    ]);
  });

  it("marks tokens with an @ that are not addresses as invalid, as pasted", () => {
    expect(extractAddresses("@handle bob@ ann@nodot a..b@x.example ok@x.example")).toEqual([
      { address: "@handle", kind: "invalid" },
      { address: "bob@", kind: "invalid" },
      { address: "ann@nodot", kind: "invalid" },
      { address: "a..b@x.example", kind: "invalid" },
      { address: "ok@x.example", kind: "valid" },
    ]);
  });

  it("checks single addresses", () => {
    expect(isAddress("first.last+tag@mail.acme.example")).toBe(true);
    expect(isAddress("first.@acme.example")).toBe(false);
    expect(isAddress("x@-acme.example")).toBe(false);
  });
});
