import { isTestPath } from "./helpers.js";
import type { PythonModel } from "./model.js";

// Is this file something people run (a script, a CLI, a notebook-style training file), or a
// library module that others import? Rules about "the run" (seeding, saving, tracking) only make
// sense for the former.

export type EntryPointKind = "main-guard" | "cli" | "top-level";

const CLI_CALLS = [
  "typer.Typer",
  "typer.run",
  "argparse.ArgumentParser",
  "fire.Fire",
  "absl.app.run",
  "click.command",
  "click.group",
  "hydra.main",
  "jsonargparse.CLI",
  "jsonargparse.ArgumentParser",
  "lightning.pytorch.cli.LightningCLI",
  "transformers.HfArgumentParser",
];
const CLI_DECORATORS = ["click.command", "click.group", "hydra.main", "typer.Typer.command", "app.command"];

/** Calls that, at module level, mean the file does work when it is run (not just definitions). */
const TOP_LEVEL_WORK = /^(fit|fit_generator|train|train_model|backward)$/;

/** Functions whose module-level call means "run the program". */
const ENTRY_FUNCTIONS = /^(main|run|cli|run_training|run_experiment|train_and_evaluate)$/;

/** How the file is run, or undefined for a library module (and for test files). */
export function entryPointKind(py: PythonModel, path?: string): EntryPointKind | undefined {
  if (path && isTestPath(path)) return undefined;
  if (py.mainGuard) return "main-guard";
  if (py.calls.some((c) => c.imported && c.is(...CLI_CALLS))) return "cli";
  if (py.functions.some((f) => f.decorators.some((d) => CLI_DECORATORS.includes(d) || /\.command$/.test(d))))
    return "cli";
  if (py.calls.some((c) => c.method !== undefined && TOP_LEVEL_WORK.test(c.method) && py.isModuleLevel(c)))
    return "top-level";
  if (py.loops.some((l) => py.isModuleLevel(l) && /epoch/i.test(l.node.text.slice(0, 120))))
    return "top-level";
  // A script that ends with a bare `main()` (no `__main__` guard) still runs when executed.
  const local = new Set(py.functions.filter((f) => !f.cls && !f.parentFunction).map((f) => f.name));
  if (
    py.calls.some(
      (c) =>
        !c.receiver && c.name && ENTRY_FUNCTIONS.test(c.name) && local.has(c.name) && py.isModuleLevel(c),
    )
  )
    return "top-level";
  return undefined;
}

export function isEntryPoint(py: PythonModel, path?: string): boolean {
  return entryPointKind(py, path) !== undefined;
}
