import {
  type Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseAllDocuments,
} from "yaml";

/** A YAML file as rules see it: its documents (positions kept) and its raw lines. */
export class YamlModel {
  readonly lineCounter = new LineCounter();
  readonly docs: Document.Parsed[];
  /** Parse errors, as text; rules still get the lines when the structure is broken. */
  readonly errors: string[];

  constructor(readonly text: string) {
    // The yaml package's defaults are safe: no custom tags run code, and alias expansion is capped.
    this.docs = parseAllDocuments(text, {
      lineCounter: this.lineCounter,
      prettyErrors: false,
      uniqueKeys: false,
    }) as Document.Parsed[];
    if (!Array.isArray(this.docs)) this.docs = [this.docs as unknown as Document.Parsed];
    this.errors = this.docs.flatMap((d) => d.errors.map((e) => e.message));
  }

  /** 1-based line and column of a string offset. */
  position(offset: number): { line: number; column: number } {
    const p = this.lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  }

  /** The span of a YAML node, for reports. */
  spanOf(node: Node): { start: number; end: number; line: number; endLine: number; column: number } {
    const [start, , end] = node.range ?? [0, 0, 0];
    const a = this.position(start);
    const b = this.position(Math.max(start, end - 1));
    return { start, end, line: a.line, endLine: b.line, column: a.column };
  }

  /** Depth of the deepest mapping/sequence nesting in any document (a flat map is 1). */
  maxDepth(): number {
    const depth = (n: unknown): number => {
      if (isMap(n)) return 1 + Math.max(0, ...n.items.map((p) => (isPair(p) ? depth(p.value) : 0)));
      if (isSeq(n)) return 1 + Math.max(0, ...n.items.map((i) => depth(i)));
      return 0;
    };
    return Math.max(0, ...this.docs.map((d) => depth(d.contents)));
  }
}

export { isMap, isPair, isScalar, isSeq };
