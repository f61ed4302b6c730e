// The server's input rules (CONTRACT §5), checked before anything is sent.

const encoder = new TextEncoder();

/** UTF-8 length, which is what bcrypt's 72-byte limit counts. */
export const byteLength = (s: string) => encoder.encode(s).length;
const chars = (s: string) => [...s].length;

// Control characters (C0, DEL, C1) and zero-width / bidi formatting ones.
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]/u;

/** The email as the server stores it: trimmed, NFKC, lower-cased. */
export const normaliseEmail = (raw: string) => raw.trim().normalize("NFKC").toLowerCase();

export function emailError(raw: string): string | null {
  const email = normaliseEmail(raw);
  if (email === "") return "Enter your email address.";
  if (FORBIDDEN.test(email)) return "The email address holds a character that is not allowed.";
  if (chars(email) > 254) return "The email address is too long (at most 254 characters).";
  const parts = email.split("@");
  if (parts.length !== 2) return "Enter an email address like name@example.com.";
  const [local, domain] = parts;
  if (local === "" || chars(local) > 64) return "The part before @ must be 1 to 64 characters.";
  if (/\s/u.test(email)) return "An email address has no spaces.";
  const labels = domain.split(".");
  if (labels.length < 2 || labels.some((l) => l === "")) return "Enter an email address like name@example.com.";
  return null;
}

export function passwordError(password: string): string | null {
  const n = byteLength(password);
  if (password.includes("\u0000")) return "The password may not hold a NUL character.";
  if (n < 8) return `Use at least 8 bytes for the password (this one is ${n}).`;
  if (n > 72) return `The password may be at most 72 bytes (this one is ${n}; a letter outside ASCII counts 2 to 4).`;
  return null;
}

export function nameError(name: string): string | null {
  return chars(name) > 100 ? "The name may be at most 100 characters." : null;
}

export function titleError(title: string): string | null {
  const t = title.trim();
  if (t === "") return "Enter a title for the task.";
  if (chars(t) > 200) return `The title may be at most 200 characters (this one is ${chars(t)}).`;
  return null;
}

export function descriptionError(description: string): string | null {
  const n = chars(description);
  return n > 2000 ? `The description may be at most 2,000 characters (this one is ${n}).` : null;
}
