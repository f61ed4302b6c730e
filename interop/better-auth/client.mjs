// Dependency-free helpers (Node >= 20: global fetch, node:child_process).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const ISSUER_SCRIPT = fileURLToPath(new URL("./issuer.mjs", import.meta.url));

/**
 * Spawn `node issuer.mjs` on a free port and wait for its READY line.
 * @param {{alg?: string, issuer?: string, audience?: string, port?: number, timeoutMs?: number}} [opts]
 * @returns {Promise<{url: string, child: import("node:child_process").ChildProcess, stop: () => Promise<void>}>}
 */
export function startIssuer({ alg = "EdDSA", issuer, audience, port = 0, timeoutMs = 30_000 } = {}) {
  const env = { ...process.env, PORT: String(port), ALG: alg };
  // Empty/undefined => issuer.mjs defaults to its own baseURL.
  if (issuer) env.ISSUER = issuer; else delete env.ISSUER;
  if (audience) env.AUDIENCE = audience; else delete env.AUDIENCE;

  const child = spawn(process.execPath, [ISSUER_SCRIPT], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d) => { stderr += d; });

  const exited = new Promise((resolve) => child.once("exit", resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };

  return new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`issuer did not print READY within ${timeoutMs}ms\n${stderr}`));
    }, timeoutMs);
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d) => {
      buf += d;
      const m = buf.match(/^READY (\S+)$/m);
      if (m) {
        clearTimeout(timer);
        child.stdout.removeAllListeners("data");
        child.stdout.resume(); // keep draining
        resolve({ url: m[1], child, stop });
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`issuer exited early (code=${code}, signal=${signal})\n${stderr}`));
    });
  });
}

/** Collect `name=value` pairs from a Response's set-cookie headers into a Cookie header. */
function cookieHeaderFrom(res) {
  const list = typeof res.headers.getSetCookie === "function"
    ? res.headers.getSetCookie()
    : (res.headers.get("set-cookie") ? [res.headers.get("set-cookie")] : []);
  return list.map((c) => c.split(";", 1)[0]).join("; ");
}

/**
 * Sign up via email/password and return the session cookie header.
 * Node's fetch sends `Sec-Fetch-Mode: cors`, which makes Better Auth's CSRF
 * check require an Origin header matching trustedOrigins (baseURL by default).
 */
export async function signUp(url, { email, password, name }) {
  const res = await fetch(`${url}/api/auth/sign-up/email`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: new URL(url).origin },
    body: JSON.stringify({ email, password, name }),
  });
  if (!res.ok) throw new Error(`sign-up failed: ${res.status} ${await res.text()}`);
  const cookie = cookieHeaderFrom(res);
  if (!cookie.includes("session_token=")) throw new Error(`sign-up returned no session cookie: ${cookie}`);
  return { cookie, body: await res.json() };
}

/** GET /api/auth/token with a session cookie; returns the JWT string. */
export async function getToken(url, cookie) {
  const res = await fetch(`${url}/api/auth/token`, { headers: { cookie } });
  if (!res.ok) throw new Error(`token failed: ${res.status} ${await res.text()}`);
  const { token } = await res.json();
  if (typeof token !== "string") throw new Error("token response had no token");
  return token;
}

/** Sign up a fresh user and return the JWT from /api/auth/token. */
export async function signUpAndGetToken(url, { email, password, name }) {
  const { cookie } = await signUp(url, { email, password, name });
  return getToken(url, cookie);
}

/** GET /api/auth/jwks -> {keys: [...]}. */
export async function fetchJwks(url) {
  const res = await fetch(`${url}/api/auth/jwks`);
  if (!res.ok) throw new Error(`jwks failed: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Decode (without verifying) a compact JWS -> {header, payload}. */
export function decodeJwt(token) {
  const [h, p] = token.split(".");
  const dec = (s) => JSON.parse(Buffer.from(s, "base64url").toString("utf8"));
  return { header: dec(h), payload: dec(p) };
}
