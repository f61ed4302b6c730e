// Minimal Better Auth issuer for interop tests (in-memory, no native modules).
//
// Env:
//   PORT      listen port on 127.0.0.1 (0 / unset = pick a free one)
//   ALG       EdDSA (default) | ES256 | RS256 | PS256
//   ISSUER    JWT "iss" (default: baseURL)
//   AUDIENCE  JWT "aud" (default: baseURL)
//
// Prints exactly one line `READY http://127.0.0.1:<port>` to stdout once listening.
import http from "node:http";
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { jwt } from "better-auth/plugins/jwt";
import { toNodeHandler } from "better-auth/node";

const ALGS = {
  EdDSA: { alg: "EdDSA", crv: "Ed25519" },
  ES256: { alg: "ES256" },
  RS256: { alg: "RS256", modulusLength: 2048 },
  PS256: { alg: "PS256", modulusLength: 2048 },
};

const algName = process.env.ALG || "EdDSA";
const keyPairConfig = ALGS[algName];
if (!keyPairConfig) {
  console.error(`unsupported ALG=${algName}; expected one of ${Object.keys(ALGS).join(", ")}`);
  process.exit(2);
}
const port = Number(process.env.PORT ?? 0);

let handler = null;
const server = http.createServer((req, res) => {
  if (!handler) {
    res.statusCode = 503;
    res.end("not ready");
    return;
  }
  handler(req, res);
});

server.listen(port, "127.0.0.1", () => {
  const baseURL = `http://127.0.0.1:${server.address().port}`;
  const issuer = process.env.ISSUER || baseURL;
  const audience = process.env.AUDIENCE || baseURL;

  // The memory adapter throws "Model X not found" on reads of missing tables,
  // so pre-create every table used by core + the jwt plugin.
  const db = { user: [], session: [], account: [], verification: [], jwks: [] };

  const auth = betterAuth({
    baseURL,
    secret: "interop-test-secret-0123456789abcdef-not-for-production",
    database: memoryAdapter(db),
    emailAndPassword: { enabled: true },
    telemetry: { enabled: false },
    plugins: [
      jwt({
        jwks: { keyPairConfig },
        jwt: { issuer, audience },
      }),
    ],
  });

  handler = toNodeHandler(auth);
  process.stdout.write(`READY ${baseURL}\n`);
});

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    server.close();
    process.exit(0);
  });
}
