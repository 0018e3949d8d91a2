import { createRequire } from "node:module";
import { Language, Parser, Query, type Tree } from "web-tree-sitter";

// One Parser and one Language per process: loading the wasm is the expensive part of a cold start.
let ready: Promise<{ parser: Parser; language: Language }> | undefined;

const require = createRequire(import.meta.url);

function grammarPath(): string {
  // The grammar ships inside the tree-sitter-python npm package; nothing is fetched at run time.
  return require.resolve("tree-sitter-python/tree-sitter-python.wasm");
}

export function initParser(): Promise<{ parser: Parser; language: Language }> {
  ready ??= (async () => {
    await Parser.init();
    const language = await Language.load(grammarPath());
    const parser = new Parser();
    parser.setLanguage(language);
    return { parser, language };
  })();
  return ready;
}

/** The Python language, once `initParser` has resolved. */
export async function pythonLanguage(): Promise<Language> {
  return (await initParser()).language;
}

/**
 * Parses `text` and hands the tree to `use`, deleting it afterwards: trees live in wasm memory
 * and are not garbage-collected.
 */
export async function withTree<T>(text: string, use: (tree: Tree) => T): Promise<T> {
  const { parser } = await initParser();
  const tree = parser.parse(text);
  if (!tree) throw new Error("tree-sitter returned no tree");
  try {
    return use(tree);
  } finally {
    tree.delete();
  }
}

/** Compiles a query against the Python grammar, with the error rephrased for rule authors. */
export async function compileQuery(source: string): Promise<Query> {
  const language = await pythonLanguage();
  return new Query(language, source);
}
