import type { Node } from "web-tree-sitter";
import type { CallSite } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { LOG_METHODS, logCalls } from "./_lib.js";

// Word pieces that name a credential or personal data. `token` alone is left out on purpose:
// in ML code it is far more often a word piece than a secret.
const SENSITIVE =
  /^(password|passwd|passphrase|secret|secrets|client_secret|secret_key|api_?key|apikey|private_?key|access_?key|credentials?|(access|auth|api|bearer|refresh|session|oauth|github|gh|hf|slack|wandb|openai|id)_token|token_secret|ssn|social_security(_number)?|patient(_\w+)?|email|e_mail|email_address|phone(_number)?|date_of_birth|dob|credit_card(_number)?|card_number|iban)$/i;
// Names that describe a secret without being it.
const DESCRIPTIVE =
  /(^|_)(len|length|count|num|n|is|has|set|present|exists|path|file|dir|env|var|field|col|column|hash|hashed|masked|redacted|mask|prefix|suffix|type|name_env|required|enabled|valid|ok|changed|policy|pattern|regex|template|domain)($|_)|^(n|num)_/i;
const PLAIN_FORMATTERS = new Set(["str", "repr", "format", "f"]);
// Words that put a bare `token` in an authentication setting (function names and message text).
const AUTH_WORDS =
  /login|log_in|sign_?in|authenti|authoriz|passw|credential|verif|reset|forgot|oauth|bearer|session/i;

export default defineCheck((ctx) => {
  const { py } = ctx;
  const logs = logCalls(py);
  // A project's own logger (`from app.logger import logger`): whatever backs it, `.info(...)` writes a log line.
  const projectLogs = py.calls.filter(
    (c) =>
      !logs.includes(c) &&
      c.method !== undefined &&
      LOG_METHODS.has(c.method) &&
      /^(self\.)?_?(log|logger|LOGGER|LOG)$/.test(c.receiver?.text ?? ""),
  );
  const calls = [...logs, ...projectLogs, ...py.calls.filter((c) => c.name === "print" && !c.imported)];
  let authContext = false;
  for (const call of calls) {
    authContext = inAuthContext(call);
    const leak = interpolated(call)
      .map(sensitiveIn)
      .find((x) => x !== undefined);
    if (!leak) continue;
    ctx.report(leak.node, {
      message:
        `\`${leak.node.text}\` goes into this log message in clear text. Logs are kept, shipped and searched long after ` +
        "the run, so credentials and personal data in them leak. Log that it is set (or a masked form such as the " +
        "last four characters), never the value.",
    });
  }

  /**
   * A bare `token` is a secret only in authentication code: the enclosing function logs users in, resets or
   * verifies something, or the message's own text says so. Elsewhere in ML code it is a word piece.
   */
  function inAuthContext(call: CallSite): boolean {
    if (AUTH_WORDS.test(py.functionAt(call)?.name ?? "")) return true;
    const message = call.args[call.method === "log" && call.args.length > 1 ? 1 : 0];
    const constant =
      message?.type === "string"
        ? message.namedChildren
            .filter((c) => c?.type === "string_content")
            .map((c) => c!.text)
            .join(" ")
        : "";
    return AUTH_WORDS.test(constant);
  }

  /** Expressions whose values end up in the message (not the constant text around them). */
  function interpolated(call: CallSite): Node[] {
    const out: Node[] = [];
    const [first, ...rest] = call.args;
    // `logger.log("INFO", msg, ...)`: the level comes first.
    const args = call.method === "log" && first && call.args.length > 1 ? rest : call.args;
    for (const [i, a] of args.entries()) {
      if (i === 0) out.push(...messageParts(a));
      else out.push(a);
    }
    for (const [k, v] of call.keywords)
      if (!["exc_info", "stack_info", "extra", "sep", "end", "file", "flush"].includes(k)) out.push(v);
    return out;
  }

  /** The interpolated pieces of a message expression. */
  function messageParts(node: Node): Node[] {
    if (node.type === "string") {
      return node.namedChildren
        .filter((c): c is Node => c?.type === "interpolation")
        .map((c) => c.childForFieldName("expression") ?? c.namedChildren[0]!)
        .filter(Boolean);
    }
    if (node.type === "binary_operator") {
      const op = node.childForFieldName("operator")?.text;
      const left = node.childForFieldName("left");
      const right = node.childForFieldName("right");
      // `"... %s %s" % (user, password)`: each element of the tuple is interpolated.
      if (op === "%" && left && right)
        return [...messageParts(left), ...(right.type === "tuple" ? namedOf(right) : [right])];
      if (op === "+" && left && right) return [...messageParts(left), ...messageParts(right)];
    }
    if (node.type === "call") {
      const fn = node.childForFieldName("function");
      // "... {}".format(x), "... {pw}".format(pw=password)
      if (fn?.type === "attribute" && fn.childForFieldName("attribute")?.text === "format")
        return namedOf(node.childForFieldName("arguments")).map((c) =>
          c.type === "keyword_argument" ? (c.childForFieldName("value") ?? c) : c,
        );
    }
    return node.type === "concatenated_string"
      ? node.namedChildren.flatMap((c) => (c ? messageParts(c) : []))
      : [node];
  }

  /** The sensitive name an interpolated expression shows in full, if any. */
  function sensitiveIn(expr: Node): { node: Node } | undefined {
    if (expr.type === "call") {
      const fn = expr.childForFieldName("function")?.text ?? "";
      // `os.getenv("OPENAI_API_KEY")`, `os.environ.get("HF_TOKEN")`: the secret itself, read from the environment.
      if (/^(os\.)?(getenv|environ\.get)$/.test(fn.replace(/\s+/g, ""))) {
        const key = expr.childForFieldName("arguments")?.namedChildren[0];
        const name = key?.type === "string" ? key.text.replace(/^[rbuRBU]*['"]|['"]$/g, "") : "";
        return name && isSensitive(name) ? { node: expr } : undefined;
      }
      // Any other call (len, mask, hash, bool, type, …) turns the value into something else.
      if (!PLAIN_FORMATTERS.has(fn)) return undefined;
      const inner = expr.childForFieldName("arguments")?.namedChildren[0];
      return inner ? sensitiveIn(inner) : undefined;
    }
    if (expr.type === "identifier" || expr.type === "attribute") {
      const parts = expr.text.replace(/\s+/g, "").split(".");
      let last = parts[parts.length - 1] ?? "";
      // `user.email.address`, `cfg.password.value`: the value of the sensitive field.
      if (parts.length > 1 && /^(address|value|raw|plain|text)$/i.test(last)) last = parts[parts.length - 2];
      if (authContext && /^(token|auth|bearer)$/i.test(last)) return { node: expr };
      if (isSensitive(last)) return { node: expr };
      // `token = os.environ["HF_TOKEN"]`: a neutral name holding a secret read from the environment.
      if (expr.type === "identifier" && fromSecretEnv(expr)) return { node: expr };
      // `patient.name`, `patient.dob`: any plain field of a patient record is personal data.
      const w = last.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
      return parts.slice(0, -1).some((p) => /^patient$/i.test(p)) && !DESCRIPTIVE.test(w) && !/^_/.test(last)
        ? { node: expr }
        : undefined;
    }
    if (expr.type === "subscript") {
      const key = expr.childForFieldName("subscript");
      if (key?.type === "slice" || key?.type === "integer") return undefined; // token[:4], a partial reveal
      const s = key?.type === "string" ? key.text.replace(/^[rbuRBU]*['"]|['"]$/g, "") : undefined;
      if (s && isSensitive(s)) return { node: expr };
      const base = expr.childForFieldName("value");
      return base && key?.type !== "string" ? sensitiveIn(base) : undefined;
    }
    return undefined;
  }

  function fromSecretEnv(name: Node): boolean {
    const a = py.lastAssignment(name.text, name.startIndex);
    const value = a?.op === "=" && a.targets.length === 1 ? a.value : undefined;
    if (!value) return false;
    let key: Node | null | undefined;
    if (value.type === "call") {
      const fn = value.childForFieldName("function")?.text.replace(/\s+/g, "") ?? "";
      if (/^(os\.)?(getenv|environ\.get)$/.test(fn))
        key = value.childForFieldName("arguments")?.namedChildren[0];
    } else if (
      value.type === "subscript" &&
      /^(os\.)?environ$/.test(value.childForFieldName("value")?.text ?? "")
    ) {
      key = value.childForFieldName("subscript");
    }
    const env = key?.type === "string" ? key.text.replace(/^[rbuRBU]*['"]|['"]$/g, "") : "";
    return !!env && isSensitive(env);
  }

  function isSensitive(word: string): boolean {
    const w = word.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
    if (DESCRIPTIVE.test(w)) return false;
    if (SENSITIVE.test(w)) return true;
    // Compound names: user_email, db_password, OPENAI_API_KEY.
    return (
      /(^|_)(password|passwd|secret|api_?key|private_key|access_key|ssn|email|credentials?)$/.test(w) ||
      /(^|_)(access|auth|api|bearer|refresh|hf|github)_token$/.test(w) ||
      /(^|_)(auth|authorization)_header$|^authorization$/.test(w)
    );
  }
});

function namedOf(node: Node | null | undefined): Node[] {
  return node?.namedChildren.filter((c): c is Node => !!c) ?? [];
}
