/**
 * docs:check — lists the public exports that have no documentation comment.
 *
 * The public API is what `kernel-lib/index.ts` exports. Like test/options-api.ts, the walk uses the
 * TypeScript compiler: it follows every export of the index, through the namespaces (`lab.prism`,
 * `lab.studies.g2is`, …) and re-exports, and asks the checker for each symbol's documentation
 * comment (what an editor or tslab shows on hover, and what typedoc renders). A symbol counts as
 * documented when its declaration (or, for a re-export, the re-exporting statement) carries a
 * `/** … *\/` comment with text, or at least a `@deprecated`/`@see` tag. Namespaces count too: their
 * comment is the one on the `export * as ns from "./ns"` line of the parent index, which is the only
 * place a namespace comment survives into the emitted `.d.ts`.
 *
 * Known limit: TypeScript's hover (tslab, editors) shows no comment for a namespace alias
 * (`lab.prism` hovers as "import prism"); the namespace comment reaches index.d.ts and the typedoc
 * reference, and every member's own comment hovers normally.
 *
 * Not counted: `tf` (TensorFlow.js re-exported as is), interface fields, and class members unless
 * `--members` (the contract here is "every exported name says what it is").
 *
 * Usage: npm run docs:check [-- --list] [-- --folder prism] [-- --members]
 *   prints the undocumented count per kernel-lib folder (the folder holding the declaration) and
 *   exits 1 when any export is undocumented. `--list` prints every undocumented id with its file and
 *   line; `--folder X` restricts the listing (not the exit code) to one folder. `--members` checks
 *   instead the public properties and methods of the exported classes (a second, stricter pass:
 *   the count is reported and exits 1 the same way, but `docs:check` without it is the contract).
 */
import * as path from "node:path";
import * as ts from "typescript";

export interface ExportDoc {
  /** e.g. "prism.probeTrajectories", "studies.g2is", "Rng". */
  id: string;
  /** The kernel-lib folder of the declaration ("(root)" for kernel-lib/*.ts). */
  folder: string;
  file: string;
  line: number;
  /** "member": a public property or method of an exported class (only with `members: true`). */
  kind: "namespace" | "value" | "type" | "member";
  documented: boolean;
}

export function exportDocs(root: string, options: { members?: boolean } = {}): ExportDoc[] {
  const libDir = path.join(root, "kernel-lib");
  const entry = path.join(libDir, "index.ts");
  const program = ts.createProgram([entry], {
    strict: true, target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10,
    esModuleInterop: true, skipLibCheck: true, types: ["node"], noEmit: true,
  });
  const checker = program.getTypeChecker();
  const out: ExportDoc[] = [];
  const seen = new Set<ts.Symbol>();

  const hasDoc = (symbol: ts.Symbol): boolean => {
    if (ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim() !== "") return true;
    return symbol.getJsDocTags(checker).some((t) => t.name === "deprecated" || t.name === "see");
  };
  /** A comment written on the re-exporting statement (`/** … *\/ export * as ns from …`). */
  const hasStatementDoc = (alias: ts.Symbol): boolean =>
    (alias.declarations ?? []).some((d) => {
      let node: ts.Node = d;
      while (node.parent !== undefined && !ts.isSourceFile(node.parent) && !ts.isExportDeclaration(node)) node = node.parent;
      return ts.getJSDocCommentsAndTags(node).some((j) => ts.isJSDoc(j) && (j.comment !== undefined || (j.tags?.length ?? 0) > 0));
    });
  const where = (symbol: ts.Symbol): { file: string; line: number; folder: string } => {
    const d = symbol.valueDeclaration ?? symbol.declarations?.[0];
    if (d === undefined) return { file: "?", line: 0, folder: "?" };
    const sf = d.getSourceFile();
    const rel = path.relative(libDir, sf.fileName);
    const parts = rel.split(path.sep);
    return { file: path.join("kernel-lib", rel), line: sf.getLineAndCharacterOfPosition(d.getStart()).line + 1, folder: parts.length > 1 ? parts[0] : "(root)" };
  };

  const visit = (exported: ts.Symbol, id: string): void => {
    const alias = exported.flags & ts.SymbolFlags.Alias ? exported : undefined;
    const symbol = alias !== undefined ? checker.getAliasedSymbol(exported) : exported;
    if (symbol.flags & ts.SymbolFlags.ValueModule) {
      const sf = symbol.valueDeclaration;
      const dir = sf !== undefined && ts.isSourceFile(sf) ? path.relative(libDir, path.dirname(sf.fileName)) : "?";
      out.push({
        id, kind: "namespace", folder: dir === "" ? "(root)" : dir.split(path.sep)[0],
        file: alias !== undefined ? where(alias).file : "?", line: alias !== undefined ? where(alias).line : 0,
        documented: alias !== undefined && hasStatementDoc(alias),
      });
      if (seen.has(symbol)) return;
      seen.add(symbol);
      for (const child of checker.getExportsOfModule(symbol)) visit(child, `${id}.${child.getName()}`);
      return;
    }
    if (seen.has(symbol)) return; // the same declaration exported under two names: counted once
    seen.add(symbol);
    const loc = where(symbol);
    const isValue = (symbol.flags & ts.SymbolFlags.Value) !== 0;
    out.push({ id, ...loc, kind: isValue ? "value" : "type", documented: hasDoc(symbol) || (alias !== undefined && hasDoc(alias)) });
    if (options.members && symbol.flags & ts.SymbolFlags.Class) {
      const isPublic = (m: ts.Symbol): boolean => {
        const d = m.valueDeclaration ?? m.declarations?.[0];
        return d !== undefined && d.getSourceFile().fileName.startsWith(libDir) && !m.getName().startsWith("#")
          && !(ts.getCombinedModifierFlags(d as ts.Declaration) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected));
      };
      const statics = symbol.exports ? [...symbol.exports.values()].filter((m) => m.getName() !== "prototype") : [];
      const instance = symbol.members ? [...symbol.members.values()].filter((m) => m.getName() !== "__constructor") : [];
      for (const [sep, group] of [[".", statics], ["#", instance]] as const) {
        for (const m of group) {
          if (!isPublic(m)) continue;
          out.push({ id: `${id}${sep}${m.getName()}`, ...where(m), folder: loc.folder, kind: "member", documented: hasDoc(m) });
        }
      }
    }
  };

  const index = checker.getSymbolAtLocation(program.getSourceFile(entry) as ts.SourceFile) as ts.Symbol;
  for (const symbol of checker.getExportsOfModule(index)) if (symbol.getName() !== "tf") visit(symbol, symbol.getName());
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

function main(): void {
  const args = process.argv.slice(2);
  const list = args.includes("--list");
  const folderAt = args.indexOf("--folder");
  const onlyFolder = folderAt >= 0 ? args[folderAt + 1] : undefined;
  const membersMode = args.includes("--members");
  const docs = exportDocs(path.resolve(__dirname, ".."), { members: membersMode }).filter((d) => membersMode ? d.kind === "member" : true);
  const byFolder = new Map<string, { total: number; missing: number }>();
  for (const d of docs) {
    const f = byFolder.get(d.folder) ?? { total: 0, missing: 0 };
    f.total++;
    if (!d.documented) f.missing++;
    byFolder.set(d.folder, f);
  }
  const missing = docs.filter((d) => !d.documented);
  if (list) {
    for (const d of missing) if (onlyFolder === undefined || d.folder === onlyFolder) console.log(`${d.id}\t${d.kind}\t${d.file}:${d.line}`);
    console.log("");
  }
  console.log("folder        undocumented / exports");
  for (const [folder, f] of [...byFolder].sort((a, b) => a[0].localeCompare(b[0]))) {
    console.log(`${folder.padEnd(14)}${String(f.missing).padStart(5)} / ${f.total}`);
  }
  console.log(`${"total".padEnd(14)}${String(missing.length).padStart(5)} / ${docs.length}`);
  if (missing.length > 0) {
    console.log(`\n${missing.length} public export(s) lack a documentation comment (npm run docs:check -- --list shows them).`);
    process.exitCode = 1;
  }
}

if (require.main === module) main();
