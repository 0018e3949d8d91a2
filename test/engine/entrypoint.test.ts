import { describe, expect, it } from "vitest";
import { compileQuery, withTree } from "../../src/engine/parser.js";
import { entryPointKind } from "../../src/engine/python/entrypoint.js";
import { INDEX_QUERY, PythonModel } from "../../src/engine/python/model.js";

async function kind(text: string, path = "train.py") {
  const q = await compileQuery(INDEX_QUERY);
  try {
    return await withTree(text, (tree) => entryPointKind(new PythonModel(tree, text, q), path));
  } finally {
    q.delete();
  }
}

describe("entry points", () => {
  it("recognise a main guard, a CLI, module-level training and a bare main() call", async () => {
    expect(await kind('def main():\n    pass\n\nif __name__ == "__main__":\n    main()\n')).toBe(
      "main-guard",
    );
    expect(await kind("import typer\napp = typer.Typer()\n")).toBe("cli");
    expect(await kind("model.fit(X, y)\n")).toBe("top-level");
    expect(await kind("def main():\n    train()\n\n\nmain()\n")).toBe("top-level");
  });

  it("leave library modules and test files alone", async () => {
    expect(await kind("def main():\n    pass\n\ndef helper():\n    main()\n")).toBeUndefined();
    expect(await kind("from pkg import main\nmain()\n")).toBeUndefined();
    expect(await kind("model.fit(X, y)\n", "tests/test_train.py")).toBeUndefined();
  });
});
