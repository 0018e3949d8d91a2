// Some rules judge how dependencies are pinned (`kan/unpinned-pykan`), which needs the
// repository's manifests as well as the changed files. They are fetched only when a changed
// Python file imports a module such a rule cares about, from the usual places at the root.

/** Manifest paths looked for at the head commit (missing ones cost nothing but an alias). */
export const MANIFEST_PATHS = [
  "requirements.txt",
  "requirements.in",
  "requirements-dev.txt",
  "requirements_dev.txt",
  "requirements-train.txt",
  "requirements/base.txt",
  "requirements/main.txt",
  "requirements/prod.txt",
  "pyproject.toml",
];

const NEEDS_MANIFESTS = /^[ \t]*(?:import[ \t]+(?:py)?kan\b|from[ \t]+(?:py)?kan(?:\.\w+)*[ \t]+import\b)/m;

/** True when one of the changed Python files makes a manifest-reading rule relevant. */
export function needsManifests(pythonTexts: Iterable<string>): boolean {
  for (const text of pythonTexts) if (NEEDS_MANIFESTS.test(text)) return true;
  return false;
}
