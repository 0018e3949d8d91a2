import { defineCheck } from "../../src/engine/rule.js";

const LEVELS = new Set([
  "debug",
  "info",
  "warning",
  "warn",
  "error",
  "exception",
  "critical",
  "success",
  "trace",
  "log",
]);
const LOGGER_FACTORIES = [
  "logging.getLogger",
  "structlog.get_logger",
  "structlog.getLogger",
  "loguru.logger.bind",
];
const LOGGER_NAME = /^(?:self\.)?_?(?:logger|log|LOGGER|LOG)$/;
// Output meant for a pipe or a person's eyes as data, not a log line.
const DATA_OUTPUT =
  /^(?:json\.dumps|yaml\.(?:safe_)?dump|tabulate\.tabulate|.*\.(?:to_json|to_csv|to_string|to_markdown|model_dump_json|json))$/;

export default defineCheck((ctx) => {
  const { py } = ctx;
  const echoes = py.callsTo("typer.echo", "typer.secho").filter((c) => c.imported);
  if (echoes.length === 0) return;
  const loggers = new Set<string>();
  for (const a of py.assignments) {
    const v = a.value;
    if (v?.type !== "call" || a.targets.length !== 1) continue;
    const fn = v.childForFieldName("function");
    const name = fn ? py.resolve(fn) : undefined;
    if (name && LOGGER_FACTORIES.includes(name)) loggers.add(a.targets[0]);
  }
  const logCall = py.calls.find((c) => {
    if (!c.method || !LEVELS.has(c.method)) return false;
    if (c.imported && c.is("loguru.logger.*", "logging.*")) return true;
    const recv = c.receiver?.text.replace(/\s+/g, "");
    return recv !== undefined && (loggers.has(recv) || LOGGER_NAME.test(recv));
  });
  if (!logCall) return;
  const how = logCall.receiver?.text.replace(/\s+/g, "") ?? "a logger";
  // `--version` and other eager option callbacks print the command's answer, not a log line.
  const optionCallbacks = new Set(
    py
      .callsTo("typer.Option")
      .map((c) => c.keywords.get("callback")?.text)
      .filter((t): t is string => t !== undefined),
  );
  // Every echo is a message the logs miss; one finding per line.
  const lines = new Set<number>();
  for (const echo of echoes) {
    if (!ctx.isAdded(echo.line)) continue;
    const arg = echo.args[0];
    if (arg?.type === "call") {
      const inner = arg.childForFieldName("function");
      const name = inner ? (py.resolve(inner) ?? inner.text) : "";
      if (DATA_OUTPUT.test(name)) continue;
    }
    const scope = py.functionAt(echo) ?? "module";
    if (typeof scope !== "string" && optionCallbacks.has(scope.name)) continue;
    // The echo is the logger's own sink: a `logging.Handler.emit`, or a method named like a level
    // (`def info(msg): typer.echo(msg)`) in a home-made logger.
    if (typeof scope !== "string" && scope.isMethod && (scope.name === "emit" || LEVELS.has(scope.name)))
      continue;
    if (lines.has(echo.line)) continue;
    lines.add(echo.line);
    ctx.report(echo, {
      message:
        `This file also logs through \`${how}\` (line ${logCall.line}), but \`${echo.callee.text}\` bypasses it: these messages get no level, timestamp or sink, ` +
        "so log files and pipeline log capture miss them and they interleave unpredictably with the logger's output. " +
        "Send status messages through the logger; keep `typer.echo` for the command's actual output.",
    });
  }
});
