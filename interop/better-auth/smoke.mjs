// Smoke test: for each alg, start issuer, sign up, get token, check JWKS kid/alg,
// verify the signature with node:crypto, print header+payload, stop issuer.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { startIssuer, signUpAndGetToken, fetchJwks, decodeJwt } from "./client.mjs";

const VERIFY = {
  EdDSA: (key) => ({ algo: null, key }),
  ES256: (key) => ({ algo: "sha256", key: { key, dsaEncoding: "ieee-p1363" } }),
  RS256: (key) => ({ algo: "sha256", key: { key, padding: crypto.constants.RSA_PKCS1_PADDING } }),
  PS256: (key) => ({ algo: "sha256", key: { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } }),
};

function verifySignature(token, jwk) {
  const [h, p, s] = token.split(".");
  const pub = crypto.createPublicKey({ key: jwk, format: "jwk" });
  const { algo, key } = VERIFY[jwk.alg](pub);
  return crypto.verify(algo, Buffer.from(`${h}.${p}`), key, Buffer.from(s, "base64url"));
}

const cases = [
  ...["EdDSA", "ES256", "RS256", "PS256"].map((alg) => ({
    alg, issuer: `https://issuer.test/${alg}`, audience: "todo-graphql",
  })),
  { alg: "EdDSA" }, // defaults: iss = aud = baseURL
];

let failed = 0;
for (const c of cases) {
  const t0 = performance.now();
  const { url, stop } = await startIssuer(c);
  const tReady = performance.now();
  try {
    const email = `user-${c.alg.toLowerCase()}-${Date.now()}@example.com`;
    const token = await signUpAndGetToken(url, { email, password: "correct-horse-battery", name: `Test ${c.alg}` });
    const tToken = performance.now();
    const jwks = await fetchJwks(url);
    const { header, payload } = decodeJwt(token);

    assert.equal(header.alg, c.alg);
    assert.equal(jwks.keys.length, 1, "expected exactly one key");
    const jwk = jwks.keys.find((k) => k.kid === header.kid);
    assert.ok(jwk, `no JWKS key with kid ${header.kid}`);
    assert.equal(jwk.alg, c.alg);
    assert.ok(verifySignature(token, jwk), "signature did not verify");
    assert.equal(payload.iss, c.issuer ?? url);
    assert.equal(payload.aud, c.audience ?? url);
    assert.equal(payload.email, email);
    assert.equal(payload.name, `Test ${c.alg}`);
    assert.equal(payload.sub, payload.id);
    assert.equal(payload.exp - payload.iat, 900);

    console.log(`== ${c.alg} iss=${c.issuer ? "custom" : "default"} OK  (ready ${(tReady - t0).toFixed(0)}ms, sign-up+token incl. keygen ${(tToken - tReady).toFixed(0)}ms)`);
    console.log("   header :", JSON.stringify(header));
    console.log("   payload:", JSON.stringify(payload));
    const { kid, ...jwkRest } = jwk;
    console.log("   jwk    :", Object.keys(jwkRest).sort().join(","));
  } catch (e) {
    failed++;
    console.error(`!! ${c.alg} FAILED:`, e);
  } finally {
    await stop();
  }
}
if (failed) {
  console.error(`${failed} case(s) failed`);
  process.exit(1);
}
console.log("smoke: all passed");
