import type { Node } from "web-tree-sitter";
import { boolValue, closest } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";
import { logCalls, loggerKind } from "./_lib.js";

const CONTROL_FLOW =
  /^\s*((asyncio\.)?(KeyboardInterrupt|SystemExit|CancelledError|StopIteration|StopAsyncIteration|GeneratorExit)\s*,?\s*)+$/;

export default defineCheck((ctx) => {
  const { py } = ctx;
  for (const call of logCalls(py)) {
    if (call.method !== "error" && call.method !== "critical") continue;
    const handler = closest(call.node, "except_clause");
    if (!handler) continue;
    // The handler's exception name: `except ValueError as e`.
    const name = exceptionName(handler);
    // Control-flow exceptions: their traceback only shows where the program was interrupted.
    if (CONTROL_FLOW.test(/^except\s*\(?([^:]*?)\)?\s+as\s+\w+\s*:/.exec(handler.text)?.[1] ?? "")) continue;
    // `logger.error("failed: %s", e)`, `logger.error("failed: {}", e)`: the exception may be any argument.
    if (!name || !call.args.some((a) => mentions(a, name))) continue;
    // The traceback is written by hand: `traceback.format_exc()`, `traceback.print_exc()`, `exc_info=...` elsewhere.
    if (
      /\btraceback\.(format_exc|format_exception|format_tb|print_exc|print_exception|extract_tb)\b/.test(
        handler.text,
      )
    )
      continue;
    if (boolValue(call.keywords.get("exc_info")) === true || call.keywords.has("exc_info")) continue;
    if (/\.opt\s*\([^)]*exception\s*=/.test(call.callee.text)) continue;
    // Re-raised: the traceback surfaces where it is finally handled. Not `raise SystemExit(1)` / `typer.Exit`:
    // those end the program quietly, without printing any traceback.
    const after = handler.text.slice(call.end - handler.startIndex);
    if (/^\s*raise\b(?!\s+(SystemExit|(typer|click)\.(Exit|Abort)|KeyboardInterrupt)\b)/m.test(after))
      continue;
    const kind = loggerKind(py, call);
    const attr = call.callee.type === "attribute" ? call.callee.childForFieldName("attribute") : null;
    const fix =
      call.method === "error" && attr
        ? { description: "Log the error with its traceback", edits: [{ at: attr, text: "exception" }] }
        : undefined;
    ctx.report(call, {
      message:
        `Only the exception's text is logged here; its traceback, which says where it was raised, is lost. Use ` +
        `\`${kind === "loguru" ? "logger" : "log"}.exception(...)\` inside the \`except\` block` +
        (kind === "loguru" ? " or `logger.opt(exception=True).error(...)`." : " or pass `exc_info=True`."),
      fix,
    });
  }
});

function exceptionName(handler: Node): string | undefined {
  const m = /^except\b[^:]*\bas\s+(\w+)\s*:/.exec(handler.text);
  return m?.[1];
}

/** True when the message shows the exception (`str(e)`, `f"{e}"`, `e`, `"..." + str(e)`, `repr(e)`). */
function mentions(message: Node | undefined, name: string): boolean {
  if (!message) return false;
  return new RegExp(`(^|[^\\w.])${name}\\b(?!\\s*\\.)`).test(message.text);
}
