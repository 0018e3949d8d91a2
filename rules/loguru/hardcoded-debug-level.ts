import type { Node } from "web-tree-sitter";
import { constructorOf } from "../../src/engine/python/flow.js";
import { isTestPath, literal, literalText } from "../../src/engine/python/helpers.js";
import type { CallSite } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { loggerKind } from "./_lib.js";

// A DEBUG level chosen by a condition (`if args.verbose:`) is a switch, not a hard-coding.
const SWITCH = /debug|verbose|verbosity|dev|local|log_level|loglevel/i;

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (isTestPath(ctx.path)) return;
  for (const call of py.calls) {
    for (const level of levelArgs(call)) check(call, level);
  }

  function check(call: CallSite, level: Node) {
    if (!isDebug(level)) return;
    if (py.ifs.some((i) => i.start < call.start && call.end <= i.end && SWITCH.test(i.condition.text)))
      return;
    if (level.parent?.type === "conditional_expression") return;
    ctx.report(level, {
      message:
        "The log level is fixed to DEBUG here, so production and long training runs emit every debug message " +
        "(per step, per batch), which can fill disks and bury warnings. Read the level from config or the " +
        'environment, e.g. `level=os.getenv("LOG_LEVEL", "INFO")`.',
    });
  }

  /** The levels a sink, basicConfig, setLevel or `logger.configure(handlers=[...])` call is given directly. */
  function levelArgs(call: CallSite): Node[] {
    if (!call.is("loguru.logger.configure")) {
      const level = levelArg(call);
      return level ? [level] : [];
    }
    const handlers = call.keywords.get("handlers");
    if (handlers?.type !== "list" && handlers?.type !== "tuple") return [];
    const out: Node[] = [];
    for (const h of handlers.namedChildren) {
      if (h?.type === "dictionary") {
        for (const pair of h.namedChildren) {
          const key = pair?.type === "pair" ? pair.childForFieldName("key") : null;
          const value = pair?.childForFieldName("value");
          if (key && value && literalText(literal(key)) === "level") out.push(value);
        }
      } else if (h?.type === "call" && h.childForFieldName("function")?.text === "dict") {
        for (const kw of h.childForFieldName("arguments")?.namedChildren ?? [])
          if (kw?.type === "keyword_argument" && kw.childForFieldName("name")?.text === "level") {
            const value = kw.childForFieldName("value");
            if (value) out.push(value);
          }
      }
    }
    return out;
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

  function isDebug(node: Node, depth = 0): boolean {
    // `LOG_LEVEL = "DEBUG"` once at module level, then `level=LOG_LEVEL`: still a constant.
    if (node.type === "identifier" && depth === 0 && py.resolve(node) === node.text) {
      const sets = py.assignments.filter((a) => a.targets.length === 1 && a.targets[0] === node.text);
      const value =
        sets.length === 1 && sets[0].op === "=" && py.isModuleLevel(sets[0]) ? sets[0].value : undefined;
      return !!value && isDebug(value, depth + 1);
    }
    const lit = literal(node);
    if (lit?.kind === "str")
      return lit.value.toUpperCase() === "DEBUG" || lit.value.toUpperCase() === "TRACE";
    // 0 is NOTSET (the loguru InterceptHandler recipe passes everything on to loguru's own sinks).
    if (lit?.kind === "num") return lit.value > 0 && lit.value <= 10;
    return py.resolve(node) === "logging.DEBUG";
  }
});
