// The graphql-http server audit (the GraphQL-over-HTTP specification's own
// conformance suite) against the real binary: every MUST, SHOULD and MAY
// audit must pass — no error, no warning, no notice (CONTRACT §5, §2).
import { test } from "node:test";
import assert from "node:assert/strict";
import { auditServer } from "graphql-http";
import { startApi } from "../server.mjs";

test("graphql-http server audit: no failure and no warning", async () => {
  const api = await startApi();
  try {
    const results = await auditServer({ url: api.url });
    const failed = [];
    for (const r of results) {
      if (r.status !== "ok") {
        let body = "";
        try {
          body = await r.response.text();
        } catch {}
        failed.push(`${r.status}: ${r.name}\n    ${r.reason}\n    ${r.response.status} ${body.slice(0, 300)}`);
      }
    }
    console.log(`${results.length - failed.length} of ${results.length} audits ok`);
    assert.equal(failed.length, 0, `audits not ok:\n${failed.join("\n")}`);
    assert.ok(results.length > 40, `only ${results.length} audits ran`);
  } finally {
    await api.stop();
  }
});
