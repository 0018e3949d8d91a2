import type { Node } from "web-tree-sitter";
import { boolValue, stringValue } from "../../src/engine/python/helpers.js";
import type { CallSite, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";

// Pandas operations that only make sense on ordered, time-indexed rows.
const WINDOW_METHODS = new Set(["rolling", "shift", "ewm", "resample", "expanding", "asfreq", "pct_change"]);
const TIME_COLUMN = /date|time|timestamp|^ds$|^dt$|year|month|week|day|hour|period/i;

// Calendar parts read off a parsed date: features of a row, not an ordering of the rows.
const CALENDAR_PART =
  /^(year|month|day|hour|minute|second|dayofweek|day_of_week|weekday|dayofyear|day_of_year|quarter|week|weekofyear|is_weekend|is_month_start|is_month_end|days_in_month|daysinmonth|day_name|month_name)$/;

/** `x.dt.<part>` where `x` is the node itself (`pd.to_datetime(col).dt.dayofweek`). */
function readsCalendarPart(node: Node): boolean {
  const dt = node.parent;
  if (dt?.type !== "attribute" || dt.childForFieldName("attribute")?.text !== "dt") return false;
  const part = dt.parent;
  const name = part?.type === "attribute" ? part.childForFieldName("attribute")?.text : undefined;
  return name !== undefined && CALENDAR_PART.test(name.replace(/\(\)$/, ""));
}

/**
 * A parsed date used only to read calendar parts (day of week, month, hour) as features, as in
 * tabular data with a date column: `pd.to_datetime(df["date"]).dt.dayofweek`, or a name bound to
 * the parse that is read only through `.dt.<part>`. That alone says nothing about row order.
 */
function calendarFeatureOnly(text: string, call: CallSite): boolean {
  if (readsCalendarPart(call.node)) return true;
  const stmt = call.node.parent;
  if (stmt?.type !== "assignment" || stmt.childForFieldName("right")?.id !== call.node.id) return false;
  const target = stmt.childForFieldName("left");
  if (target?.type !== "identifier") return false;
  const name = target.text;
  const after = text.slice(stmt.endIndex);
  const uses = [...after.matchAll(new RegExp(`(?<![\\w.])${name}\\b(\\s*\\.\\s*dt\\s*\\.\\s*(\\w+))?`, "g"))];
  return uses.length > 0 && uses.every((m) => m[2] !== undefined && CALENDAR_PART.test(m[2]));
}

/** The first place the file shows it treats its rows as a time series, described for the message. */
function timeSeriesEvidence(py: PythonModel, text: string): { line: number; what: string } | undefined {
  for (const c of py.calls) {
    if (c.is("pandas.date_range") || (c.is("pandas.to_datetime") && !calendarFeatureOnly(text, c)))
      return { line: c.line, what: `\`${c.name}\`` };
    if (c.keywords.has("parse_dates")) return { line: c.line, what: "`parse_dates=`" };
    if (!c.method || !c.receiver || c.receiver.text === "self") continue;
    // On data, not a library function (`torchaudio.functional.resample` is audio, not time series).
    if (
      WINDOW_METHODS.has(c.method) &&
      !c.imported &&
      (c.method !== "shift" || c.args.length + c.keywords.size > 0)
    )
      return { line: c.line, what: `\`.${c.method}(...)\`` };
    if (c.method === "sort_values") {
      const by = c.arg("by", 0);
      const cols = by?.type === "list" ? by.namedChildren.map((n) => stringValue(n)) : [stringValue(by)];
      if (cols.some((s) => s !== undefined && TIME_COLUMN.test(s)))
        return { line: c.line, what: "sorting by a time column" };
    }
  }
  return undefined;
}

interface ShuffledSplit {
  call: CallSite;
  how: string;
  /** `train_test_split` without stratify: `shuffle=False` is then a safe rewrite. */
  fixable: boolean;
}

const SHUFFLE_OPTIONAL = [
  "sklearn.model_selection.KFold",
  "sklearn.model_selection.StratifiedKFold",
  "sklearn.model_selection.RepeatedKFold",
  "sklearn.model_selection.RepeatedStratifiedKFold",
];
const ALWAYS_SHUFFLES = [
  "sklearn.model_selection.ShuffleSplit",
  "sklearn.model_selection.StratifiedShuffleSplit",
];

function shuffledSplit(call: CallSite): ShuffledSplit | undefined {
  if (call.is("sklearn.model_selection.train_test_split")) {
    const shuffle = call.keywords.get("shuffle");
    if (shuffle && boolValue(shuffle) !== true) return undefined;
    if (!shuffle && call.hasSplat) return undefined;
    return {
      call,
      how: shuffle ? "`shuffle=True`" : "`train_test_split` shuffles by default",
      fixable: !call.keywords.has("stratify"),
    };
  }
  if (call.is(...SHUFFLE_OPTIONAL)) {
    const shuffle = call.keywords.get("shuffle");
    return shuffle && boolValue(shuffle) === true
      ? { call, how: "`shuffle=True`", fixable: false }
      : undefined;
  }
  if (call.is(...ALWAYS_SHUFFLES)) return { call, how: `\`${call.method}\` always shuffles`, fixable: false };
  if (call.is("torch.utils.data.random_split"))
    return { call, how: "`random_split` assigns rows at random", fixable: false };
  return undefined;
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  const splits = py.calls.map(shuffledSplit).filter((s): s is ShuffledSplit => s !== undefined);
  if (splits.length === 0) return;
  const evidence = timeSeriesEvidence(py, ctx.text);
  if (!evidence) return;
  for (const { call, how, fixable } of splits) {
    const shuffle = call.keywords.get("shuffle");
    // After the last argument, so a trailing comma or comment stays valid.
    const last = call.argsNode.namedChildren.filter((c) => c && c.type !== "comment").pop();
    ctx.report(call, {
      message:
        `This split puts rows in train and test at random (${how}), but the file handles the data as a time series ` +
        `(${evidence.what}, line ${evidence.line}): training then sees rows from after the test period, and the ` +
        "score overstates how well the model predicts the future. Split by time instead: sort by time and use " +
        "`train_test_split(..., shuffle=False)` or a cutoff date, and `TimeSeriesSplit` for cross-validation.",
      fix:
        fixable && (shuffle || last)
          ? {
              description: "Split in time order (shuffle=False)",
              edits: shuffle
                ? [{ at: shuffle, text: "False" }]
                : [{ at: { start: last!.endIndex, end: last!.endIndex }, text: ", shuffle=False" }],
            }
          : undefined,
    });
  }
});
