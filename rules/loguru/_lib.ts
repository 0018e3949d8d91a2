import type { Node } from "web-tree-sitter";
import { constructorOf } from "../../src/engine/python/flow.js";
import { literal } from "../../src/engine/python/helpers.js";
import type { CallSite, PythonModel } from "../../src/engine/python/model.js";

// Shared pieces of the `loguru` pack (not a rule: no YAML beside it).

export const LOG_METHODS = new Set([
  "trace",
  "debug",
  "info",
  "success",
  "warning",
  "warn",
  "error",
  "critical",
  "exception",
  "fatal",
  "log",
]);

// Factories of standard-library loggers, including the wrappers Hugging Face and Accelerate scripts use.
const STDLIB_LOGGER_FACTORIES = [
  "logging.getLogger",
  "logging.Logger",
  "logging.LoggerAdapter",
  "accelerate.logging.get_logger",
  "transformers.utils.logging.get_logger",
  "diffusers.utils.logging.get_logger",
  "datasets.utils.logging.get_logger",
  "tensorflow.get_logger",
];

/** The logging library behind a call's receiver, when the file lets us tell. */
export function loggerKind(py: PythonModel, call: CallSite): "loguru" | "stdlib" | undefined {
  const name = call.name ?? "";
  if (call.imported && /^loguru\.logger(\.opt|\.bind|\.patch|\.contextualize)?\.\w+$/.test(name))
    return "loguru";
  if (call.imported && /^(logging|absl\.logging)\.\w+$/.test(name)) return "stdlib";
  if (call.receiver?.type === "call") {
    // `logger.opt(exception=True).error(...)`, `logging.getLogger(__name__).info(...)`
    const inner = py.calls.find((c) => c.node.id === call.receiver!.id);
    return inner ? loggerKind(py, inner) : undefined;
  }
  const ctor = constructorOf(py, call.receiver, call);
  // Also a module-level `logger = get_logger(__name__)` used inside functions.
  const known = ctor ?? moduleLevelConstructor(py, call.receiver);
  if (known && STDLIB_LOGGER_FACTORIES.includes(known)) return "stdlib";
  if (known && /^loguru\.logger\.(bind|opt|patch)$/.test(known)) return "loguru";
  if (!ctor && /^(self\.)?_?(log|logger|LOGGER|LOG)$/.test(call.receiver?.text ?? "")) {
    if (py.importsModule("loguru")) return "loguru";
    if (py.importsModule("logging")) return "stdlib";
  }
  return undefined;
}

/** Calls that emit a log record (`logger.info(...)`, `logging.error(...)`, `log.log(...)`). */
export function logCalls(py: PythonModel): CallSite[] {
  return py.calls.filter((c) => c.method && LOG_METHODS.has(c.method) && loggerKind(py, c) !== undefined);
}

/** `loguru.logger.add(...)` calls. */
export function sinkAdds(py: PythonModel): CallSite[] {
  return py.callsTo("loguru.logger.add");
}

const STREAM = /^(sys\.(stderr|stdout)|sys\.__(stderr|stdout)__)$/;

/** True when the sink of a `logger.add` call is a file (a path, not a stream, function or handler). */
export function isFileSink(py: PythonModel, add: CallSite): boolean {
  const sink = add.arg("sink", 0);
  if (!sink) return false;
  return isPathExpr(py, sink, add, 0);
}

function isPathExpr(py: PythonModel, node: Node, at: CallSite, depth: number): boolean {
  if (STREAM.test(node.text.replace(/\s+/g, ""))) return false;
  if (node.type === "string") {
    const lit = literal(node);
    return lit?.kind !== "str" || lit.value.length > 0;
  }
  if (node.type === "binary_operator") return /[/+]/.test(node.childForFieldName("operator")?.text ?? "");
  if (node.type === "call") {
    const name = py.resolve(node.childForFieldName("function") ?? node) ?? "";
    return /^(pathlib\.)?Path$|^os\.path\.join$|\.joinpath$|^str$/.test(name);
  }
  if ((node.type === "identifier" || node.type === "attribute") && depth < 2) {
    const a = py.lastAssignment(node.text.replace(/\s+/g, ""), at);
    if (a?.value) return isPathExpr(py, a.value, at, depth + 1);
    return /(path|file|log_?dir|logfile|filename)$/i.test(node.text);
  }
  return false;
}

/** What a module-level `name = factory(...)` was built by (`constructorOf` follows one scope only). */
function moduleLevelConstructor(py: PythonModel, node: Node | null | undefined): string | undefined {
  if (node?.type !== "identifier") return undefined;
  let found: string | undefined;
  for (const a of py.assignments) {
    if (a.targets.length !== 1 || a.targets[0] !== node.text || py.functionAt(a) !== undefined) continue;
    if (a.op !== "=" || a.value?.type !== "call") continue;
    found = py.resolve(a.value.childForFieldName("function") ?? a.value);
  }
  return found;
}
