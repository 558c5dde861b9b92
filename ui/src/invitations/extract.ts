// Pulls e-mail addresses out of whatever the admin pasted (a spreadsheet column, an e-mail's
// To: line, "Name <address>" lists), for the bulk invite's preview. The gateway extracts again
// and decides; this only shows the admin what is about to be sent.

export type TokenKind = "valid" | "duplicate" | "invalid";

export interface ExtractedToken {
  /** As it will be sent (lower-cased) for a valid or duplicate address; as pasted when invalid. */
  address: string;
  kind: TokenKind;
}

// Separators people paste between addresses: whitespace, commas, semicolons, angle brackets,
// quotes and parentheses.
const SEPARATORS = /[\s,;<>"'()[\]{}]+/;
const ADDRESS = /^[a-z0-9.!#$%&*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/;

/** Is `address` (already lower-cased) an e-mail address the preview counts as valid? */
export function isAddress(address: string): boolean {
  return ADDRESS.test(address) && !address.startsWith(".") && !address.includes("..") && !address.split("@")[0]!.endsWith(".");
}

/**
 * Every token of `text` that contains an "@", in order: valid addresses (the first time they
 * appear), repeats of one (duplicate), and the rest (invalid). Tokens without "@" are ignored.
 */
export function extractAddresses(text: string): ExtractedToken[] {
  const seen = new Set<string>();
  const tokens: ExtractedToken[] = [];
  for (const raw of text.split(SEPARATORS)) {
    if (!raw.includes("@")) continue;
    // "mailto:" links and a sentence's final full stop or colon are not part of the address.
    const token = raw.replace(/^mailto:/i, "").replace(/[.:]+$/, "");
    const address = token.toLowerCase();
    if (!isAddress(address)) tokens.push({ address: raw, kind: "invalid" });
    else if (seen.has(address)) tokens.push({ address, kind: "duplicate" });
    else {
      seen.add(address);
      tokens.push({ address, kind: "valid" });
    }
  }
  return tokens;
}
