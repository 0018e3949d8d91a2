import { isEntryPoint } from "../../src/engine/python/entrypoint.js";
import { closest, isWithin, statementOf } from "../../src/engine/python/helpers.js";
import type { CallSite, FunctionDef } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { sinkAdds } from "./_lib.js";

// Hooks that a framework calls many times per run.
const REPEATED_HOOKS =
  /^(training_step|validation_step|test_step|predict_step|forward|__call__|__getitem__|on_\w*(batch|step|epoch)\w*)$/;
// Calls that run the function they are given many times: Optuna trials, pool and executor maps.
const REPEATERS = /^(optimize|map|imap|imap_unordered|starmap|map_async|starmap_async)$/;
// Web request handlers (`@app.get(...)`, `@router.post(...)`, `@app.route(...)`), in files importing a web framework.
const WEB_FRAMEWORKS = ["fastapi", "flask", "starlette", "quart", "sanic", "litestar"];
const ROUTE_DECORATOR = /^\w+\.(get|post|put|patch|delete|route|api_route|websocket)$/;
// Event hooks that fire once per event (`on_train_start` on every `fit`, a GUI's `on_click`).
const EVENT_HOOKS = /^on_\w+$/;

export default defineCheck((ctx) => {
  const { py } = ctx;
  const adds = sinkAdds(py);
  if (adds.length === 0) return;
  const removes = py.callsTo("loguru.logger.remove");
  const removedBefore = (add: CallSite, fn: FunctionDef | undefined) =>
    removes.some((r) => r.end <= add.start && py.functionAt(r) === fn);
  // `handler_id = logger.add(...)` later undone by `logger.remove(handler_id)`: a scoped sink, not a pile-up.
  const removedById = (add: CallSite) => {
    const stmt = statementOf(add.node);
    if (stmt.type !== "expression_statement" || stmt.firstNamedChild?.type !== "assignment") return false;
    const assign = stmt.firstNamedChild;
    if (assign.childForFieldName("right")?.id !== add.node.id) return false;
    const id = assign.childForFieldName("left")?.text.replace(/\s+/g, "");
    return !!id && removes.some((r) => r.args[0]?.text.replace(/\s+/g, "") === id);
  };
  const guard = py.mainGuard;
  const library = !isEntryPoint(py, ctx.path) && !looksLikeScript();
  for (const add of adds) {
    if (guard && isWithin(add, guard)) continue;
    const fn = py.functionAt(add);
    if (removedBefore(add, fn) || removedById(add)) continue;
    const why = repeatedBecause(add, fn);
    if (!why) continue;
    const effect = why.startsWith("runs at import time")
      ? "so whoever imports it (the application, tests, notebooks, each worker process) gets this sink whether " +
        "they want it or not, and an application that adds its own sinks keeps this one too (duplicate output " +
        "unless it first calls `logger.remove()`)"
      : "so every time it runs another sink is attached and each message is written once more";
    ctx.report(add, {
      message:
        `\`logger.add\` ${why}, ${effect}. Configure sinks once, at the program's entry point (under ` +
        '`if __name__ == "__main__":` or in `main()`), calling `logger.remove()` first; library code should only ' +
        "call `logger.info(...)` and friends.",
    });
  }

  function repeatedBecause(add: CallSite, fn: FunctionDef | undefined): string | undefined {
    if (py.loopsAt(add).some((l) => !fn || isWithin(l, fn))) return "runs inside a loop";
    if (!fn) return library ? "runs at import time in a module that others import" : undefined;
    if (fn.cls && fn.name === "__init__") return `runs in \`${fn.cls.name}.__init__\`, once per instance`;
    if (REPEATED_HOOKS.test(fn.name)) return `runs in \`${fn.name}\`, which is called over and over`;
    if (EVENT_HOOKS.test(fn.name)) return `runs in \`${fn.name}\`, once each time that event fires`;
    // `LightningDataModule.setup(stage)` runs once per stage (fit, validate, test, predict).
    if (fn.name === "setup" && fn.cls?.bases.some((b) => b.startsWith("lightning.")))
      return "runs in `setup`, which Lightning calls once per stage (fit, validate, test, predict)";
    const calledInLoop = py.calls.some(
      (c) => c.name === fn.name && !c.receiver && py.loopsAt(c).length > 0 && !isWithin(c, fn),
    );
    if (calledInLoop) return `runs in \`${fn.name}()\`, which this file calls inside a loop`;
    // `study.optimize(objective)`, `pool.map(work, items)`: handed to something that calls it over and over.
    const repeater = py.calls.find(
      (c) =>
        !!c.method &&
        REPEATERS.test(c.method) &&
        !isWithin(c, fn) &&
        (c.args[0]?.text === fn.name || c.keywords.get("func")?.text === fn.name),
    );
    if (repeater) return `runs in \`${fn.name}()\`, which \`${repeater.callee.text}\` calls over and over`;
    // `@app.post("/predict")` in FastAPI / Flask: the handler runs once per request.
    if (WEB_FRAMEWORKS.some((m) => py.importsModule(m)) && fn.decorators.some((d) => ROUTE_DECORATOR.test(d)))
      return `runs in the request handler \`${fn.name}()\`, once per request`;
    if (fn.decorators.some((d) => /^ray\.remote$/.test(d)) || fn.cls?.decorators.includes("ray.remote"))
      return "runs in a Ray task or actor, once per call or actor";
    // `def get_logger(name): logger.add(...); return logger.bind(...)` in a library: each module that asks for
    // a logger adds one more sink.
    if (library && !fn.cls && returnsLogger(fn))
      return `runs in \`${fn.name}()\`, a library helper that hands the logger out to each caller`;
    return undefined;
  }

  /**
   * A script without a main guard: it lives in a scripts-like folder, or does its work at module level
   * (a top-level loop and top-level log messages, or several top-level log messages). Nobody imports it, so
   * import time is run time.
   */
  function looksLikeScript(): boolean {
    if (/(^|\/)(scripts?|bin|tools|examples|notebooks)\//.test(ctx.path)) return true;
    const topLoop = py.loops.some((l) => py.isModuleLevel(l));
    const topLogs = py.calls.filter(
      (c) => c.is("loguru.logger.*") && c.method !== "add" && c.method !== "remove" && py.isModuleLevel(c),
    ).length;
    // Progress messages at module level (`logger.info("read {} rows", ...)` twice or more) are a script's run log.
    return (topLoop && topLogs > 0) || topLogs >= 2;
  }

  function returnsLogger(fn: FunctionDef): boolean {
    const returns = fn.body.descendantsOfType("return_statement");
    return returns.some((r) => {
      const value = r?.firstNamedChild;
      if (!value || closest(value, "function_definition")?.id !== fn.node.id) return false;
      const callee = value.type === "call" ? value.childForFieldName("function") : value;
      const name = callee ? py.resolve(callee) : undefined;
      return !!name && /^loguru\.logger(\.(bind|opt|patch))?$/.test(name);
    });
  }
});
