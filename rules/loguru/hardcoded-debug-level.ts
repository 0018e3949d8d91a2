import type { Node } from "web-tree-sitter";
import { constructorOf } from "../../src/engine/python/flow.js";
import { isTestPath, literal } from "../../src/engine/python/helpers.js";
import type { CallSite } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { loggerKind } from "./_lib.js";

// A DEBUG level chosen by a condition (`if args.verbose:`) is a switch, not a hard-coding.
const SWITCH = /debug|verbose|verbosity|dev|local|log_level|loglevel/i;

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (isTestPath(ctx.path)) return;
  for (const call of py.calls) {
    const level = levelArg(call);
    if (!level || !isDebug(level)) continue;
    if (py.ifs.some((i) => i.start < call.start && call.end <= i.end && SWITCH.test(i.condition.text)))
      continue;
    if (level.parent?.type === "conditional_expression") continue;
    ctx.report(level, {
      message:
        "The log level is fixed to DEBUG here, so production and long training runs emit every debug message " +
        "(per step, per batch), which can fill disks and bury warnings. Read the level from config or the " +
        'environment, e.g. `level=os.getenv("LOG_LEVEL", "INFO")`.',
    });
  }

  /** The level a sink, basicConfig or setLevel call is given, when it is given directly. */
  function levelArg(call: CallSite): Node | undefined {
    if (call.is("loguru.logger.add", "logging.basicConfig")) return call.keywords.get("level");
    if (
      call.method === "setLevel" &&
      !isHandler(call) &&
      (call.name?.startsWith("logging.") || loggerKind(py, call) || /log/i.test(call.receiver?.text ?? ""))
    )
      return call.arg("level", 0);
    return undefined;
  }

  /** A handler's level only filters what its logger already lets through: DEBUG there is not a hard-coding. */
  function isHandler(call: CallSite): boolean {
    if (/handler$/i.test(call.receiver?.text ?? "")) return true;
    const ctor = constructorOf(py, call.receiver, call);
    return !!ctor && /^logging\.(handlers\.)?\w*Handler$/.test(ctor);
  }

  function isDebug(node: Node): boolean {
    const lit = literal(node);
    if (lit?.kind === "str")
      return lit.value.toUpperCase() === "DEBUG" || lit.value.toUpperCase() === "TRACE";
    // 0 is NOTSET (the loguru InterceptHandler recipe passes everything on to loguru's own sinks).
    if (lit?.kind === "num") return lit.value > 0 && lit.value <= 10;
    return py.resolve(node) === "logging.DEBUG";
  }
});
