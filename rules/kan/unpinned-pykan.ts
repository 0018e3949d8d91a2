import type { CheckContext } from "../../src/engine/rule.js";
import { defineCheck } from "../../src/engine/rule.js";

interface Requirement {
  line: number;
  pinned: boolean;
}

const COMMIT = /@[0-9a-f]{7,40}\b/i;

/** pykan requirements in a manifest, with whether each is pinned to one version or commit. */
export function pykanRequirements(text: string, path: string): Requirement[] {
  const out: Requirement[] = [];
  const toml = path.endsWith("pyproject.toml");
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.replace(/(^|\s)#.*$/, "");
    if (!/pykan/i.test(line)) continue;
    let spec: string | undefined;
    if (toml) {
      const quoted = /["']\s*pykan\s*(\[[^\]]*\])?\s*([^"';]*)/i.exec(line);
      const poetry = /^\s*pykan\s*=\s*(.+)$/i.exec(line);
      if (poetry) {
        const v = poetry[1].trim();
        const pinned =
          /^["'][0-9][\w.]*["']$/.test(v) ||
          /\brev\s*=\s*["'][0-9a-f]{7,40}["']/i.test(v) ||
          /\bversion\s*=\s*["']==?[0-9][\w.]*["']/.test(v);
        out.push({ line: i + 1, pinned });
        continue;
      }
      spec = quoted?.[2];
    } else {
      const m = /^\s*pykan\s*(\[[^\]]*\])?\s*(.*)$/i.exec(line);
      if (m) spec = m[2];
      else if (/git\+\S*pykan/i.test(line)) {
        out.push({ line: i + 1, pinned: COMMIT.test(line.replace(/^.*?\.git/, "")) });
        continue;
      }
    }
    if (spec === undefined) continue;
    const s = spec.trim();
    const pinned = /^===?\s*[0-9][\w.+!-]*$/.test(s.split(";")[0].trim()) || (/^@/.test(s) && COMMIT.test(s));
    out.push({ line: i + 1, pinned });
  }
  return out;
}

const IMPORT = /^\s*(import\s+(py)?kan\b|from\s+(py)?kan(\.\w+)*\s+import\b)/;
// The project is itself a package called `kan` (pykan's own repository, or another KAN library).
const OWN_NAME = /^\s*name\s*=\s*["'](py)?kan["']/m;
// A checkout put on the import path by hand: the import does not come from an installed release.
const SYS_PATH = /\bsys\.path\.(append|insert)\s*\(/;

export default defineCheck((ctx: CheckContext) => {
  if (ctx.kind === "manifest") {
    for (const req of pykanRequirements(ctx.text, ctx.path)) {
      if (req.pinned || !ctx.isAdded(req.line)) continue;
      ctx.report(
        { line: req.line },
        {
          message:
            "pykan is required here without an exact pin. Its API has changed a lot between releases (`train` became " +
            "`fit`, `KAN` became `MultKAN`, regularisation defaults moved), so an unpinned install can break or " +
            "silently change results. Pin it: `pykan==X.Y.Z`, or a git URL ending in `@<commit>`.",
        },
      );
    }
    return;
  }
  const importLine = ctx.lines.findIndex((l, i) => IMPORT.test(l) && ctx.isAdded(i + 1));
  if (importLine < 0) return;
  const manifests = [...ctx.project.manifests];
  if (manifests.length === 0) return;
  if (manifests.some(([path, text]) => path.endsWith("pyproject.toml") && OWN_NAME.test(text))) return;
  const reqs = manifests.flatMap(([path, text]) =>
    pykanRequirements(text, path).map((r) => ({ ...r, path })),
  );
  if (reqs.some((r) => r.pinned)) return;
  // Not listed at all: `kan` may be the project's own package or a vendored checkout.
  if (reqs.length === 0 && (/(^|\/)kan\//.test(ctx.path) || SYS_PATH.test(ctx.text))) return;
  const where = reqs[0]
    ? `is listed unpinned in \`${reqs[0].path}\``
    : `is not listed in ${manifests.map(([p]) => `\`${p}\``).join(", ")}`;
  ctx.report(
    { line: importLine + 1 },
    {
      message:
        `This imports pykan, which ${where}. pykan's API has changed a lot between releases, so whoever installs the ` +
        "project later may get a version this code does not run on. Pin it in your requirements: `pykan==X.Y.Z`, or " +
        "a git URL ending in `@<commit>`.",
    },
  );
});
