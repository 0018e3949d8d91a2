// No Docker engine runs in CI, so the Dockerfile is checked by reading it.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
const dockerfile = readFileSync(path.join(root, "Dockerfile"), "utf8");
const ignored = readFileSync(path.join(root, ".dockerignore"), "utf8")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"));
const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
};

/** Instructions with line continuations joined, grouped by stage. */
function stages(): { name: string; lines: string[] }[] {
  const out: { name: string; lines: string[] }[] = [];
  const joined = dockerfile.replace(/\\\n/g, " ").split("\n");
  for (const raw of joined) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) out.push({ name: from[1] ?? String(out.length), lines: [line] });
    else out[out.length - 1]?.lines.push(line);
  }
  return out;
}

describe("Dockerfile", () => {
  const all = stages();
  const final = all[all.length - 1];

  it("is multi-stage and runs a node 20 base", () => {
    expect(all.length).toBeGreaterThanOrEqual(2);
    for (const s of all) expect(s.lines[0]).toMatch(/^FROM node:20/);
  });

  it("ships production dependencies only", () => {
    const deps = all.find((s) => s.lines.some((l) => /npm ci .*--omit=dev/.test(l)));
    expect(deps).toBeDefined();
    const copies = final.lines.filter((l) => l.startsWith("COPY --from="));
    expect(copies.some((l) => l.includes(`--from=${deps!.name}`) && l.includes("node_modules"))).toBe(true);
    expect(final.lines.some((l) => /npm (ci|install)(?!.*--omit=dev)/.test(l))).toBe(false);
  });

  it("runs as a non-root user, listens on all interfaces and has a health check", () => {
    const user = final.lines.filter((l) => l.startsWith("USER ")).pop();
    expect(user).toBeDefined();
    expect(user).not.toMatch(/USER\s+(root|0)\b/);
    expect(final.lines.join("\n")).toMatch(/HOST=0\.0\.0\.0/);
    expect(final.lines.some((l) => l.startsWith("HEALTHCHECK") && l.includes("/ping"))).toBe(true);
    expect(final.lines.some((l) => l.startsWith("CMD") && l.includes("bin/mlreview-app.js"))).toBe(true);
  });

  it("copies the compiled app, rules/ and the grammar .wasm files", () => {
    const text = final.lines.join("\n");
    expect(text).toMatch(/COPY --from=\S+ .*\/app\/dist \.\/dist/);
    expect(text).toMatch(/COPY .*rules \.\/rules/);
    expect(text).toMatch(/COPY .*bin \.\/bin/);
    expect(text).toContain("tree-sitter-python.wasm");
    // The .wasm files come with production dependencies, so they reach the image.
    expect(pkg.dependencies["tree-sitter-python"]).toBeDefined();
    expect(pkg.dependencies["web-tree-sitter"]).toBeDefined();
    expect(existsSync(path.join(root, "node_modules/tree-sitter-python/tree-sitter-python.wasm"))).toBe(true);
    expect(existsSync(path.join(root, "node_modules/web-tree-sitter/tree-sitter.wasm"))).toBe(true);
  });

  it("copies only files that exist and that .dockerignore lets through", () => {
    for (const s of all) {
      for (const l of s.lines.filter((x) => x.startsWith("COPY ") && !x.includes("--from="))) {
        const parts = l
          .split(/\s+/)
          .slice(1)
          .filter((p) => !p.startsWith("--"));
        for (const src of parts.slice(0, -1)) {
          expect(existsSync(path.join(root, src)), `${src} exists`).toBe(true);
          expect(ignored.includes(src), `${src} is not ignored`).toBe(false);
        }
      }
    }
    for (const secret of [".env", "*.pem", ".git"]) expect(ignored).toContain(secret);
  });
});
