import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { scrub } from "../../src/app/logger.js";
import { refusal } from "../../src/app/start.js";

const root = path.resolve(import.meta.dirname, "../..");

describe("app.yml", () => {
  it("asks for the three events and the four permissions, nothing more", () => {
    const manifest = parse(readFileSync(path.join(root, "app.yml"), "utf8"));
    expect([...manifest.default_events].sort()).toEqual(["check_run", "check_suite", "pull_request"]);
    expect(manifest.default_permissions).toEqual({
      metadata: "read",
      contents: "read",
      pull_requests: "write",
      checks: "write",
    });
  });
});

describe("starting", () => {
  it("refuses a missing or well-known webhook secret unless in development", () => {
    expect(refusal({})).toMatch(/WEBHOOK_SECRET is not set/);
    expect(refusal({ WEBHOOK_SECRET: "development" })).toMatch(/well-known default/);
    expect(refusal({ WEBHOOK_SECRET: "a-real-secret" })).toBeUndefined();
    expect(refusal({ NODE_ENV: "development" })).toBeUndefined();
  });

  it("scrubs tokens, keys and authorization values from log lines", () => {
    const line = JSON.stringify({
      msg: "GET /x failed: token ghs_abcdefghijklmnopqrstuvwxyz012345 and Bearer eyJhbGciOiJSUzI1NiJ9.eyJpYXQiOjE3MDB9.c2lnbmF0dXJlc2lnbg",
      key: "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----",
      custom: "my-webhook-secret-value",
    });
    const out = scrub(line, ["my-webhook-secret-value"]);
    expect(out).not.toMatch(/ghs_abc|eyJhbGci|MIIE|my-webhook-secret-value/);
  });
});
