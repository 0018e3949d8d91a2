import pino, { type Logger } from "pino";

const REDACT_PATHS = [
  "token",
  "*.token",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "*.*.headers.authorization",
  "request.headers.authorization",
  "err.request.headers.authorization",
  "err.response.headers",
  "privateKey",
  "*.privateKey",
  "secret",
  "*.secret",
];

/** Token shapes GitHub issues, bearer/token headers, PEM keys and JWTs. */
const SECRET_PATTERNS = [
  /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|v1\.[0-9a-f]{40})\b/g,
  /\b(Bearer|token)\s+[A-Za-z0-9._-]{16,}/gi,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g,
  /\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/g,
];

/** Replaces secrets in a log line: the known values first, then anything shaped like one. */
export function scrub(line: string, known: readonly string[] = []): string {
  let out = line;
  for (const value of known) {
    if (value.length >= 8) out = out.split(value).join("[redacted]");
  }
  for (const p of SECRET_PATTERNS)
    out = out.replace(p, (_m, g1) => (typeof g1 === "string" ? `${g1} [redacted]` : "[redacted]"));
  return out;
}

/**
 * JSON logs to stdout, with tokens, keys and `Authorization` headers redacted both by path and
 * by shape, so a secret inside an error message is caught too.
 */
export function createLogger(
  env: NodeJS.ProcessEnv = process.env,
  destination?: pino.DestinationStream,
): Logger {
  const known = [env.WEBHOOK_SECRET, env.PRIVATE_KEY].filter((v): v is string => Boolean(v));
  // A PEM's body lines can be logged on their own: treat each as a secret too.
  for (const k of [...known])
    if (k.includes("\n")) known.push(...k.split("\n").filter((l) => l.length >= 40));
  return pino(
    {
      name: "mlreview",
      level: env.LOG_LEVEL ?? "info",
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      hooks: { streamWrite: (s: string) => scrub(s, known) },
    },
    destination ?? pino.destination(1),
  );
}
