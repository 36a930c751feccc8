/**
 * Enumerates the public API's option-taking callables with the TypeScript compiler, for
 * options-contract.test.ts. Starting at kernel-lib/index.ts it follows every export — through the
 * namespaces (`io`, `studies.g2is`, …) and re-exports — and lists each exported function, class
 * constructor, static method and public instance method of an exported class that has a
 * parameter which is an options object: named `options`/`opts`, or typed as a `…Options` /
 * `…Config` interface. Ids look like "io.readNpy", "new models.TinyTransformer",
 * "experiments.RunStore.open" (static), "models.TinyTransformer#forward" (instance method).
 * Reading the types (not a hand-kept list) is what makes the walk complete: a new exported
 * function with options shows up here whether or not anyone remembered to test it.
 */
import * as path from "node:path";
import * as ts from "typescript";

const OPTIONS_NAME = /^(options|opts)$/;
const OPTIONS_TYPE = /(Options|Config)$/;

export interface OptionTaker {
  id: string;
  /** The options parameters' names, e.g. ["options"]. */
  parameters: string[];
}

export function optionTakingExports(root: string): OptionTaker[] {
  const entry = path.join(root, "kernel-lib", "index.ts");
  const program = ts.createProgram([entry], {
    strict: true, target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10,
    esModuleInterop: true, skipLibCheck: true, types: ["node"], noEmit: true,
  });
  const checker = program.getTypeChecker();
  const found = new Map<string, Set<string>>();
  const add = (id: string, signatures: readonly ts.Signature[]) => {
    for (const signature of signatures) {
      const declaration = signature.getDeclaration() as ts.Declaration | undefined;
      if (declaration !== undefined && ts.getCombinedModifierFlags(declaration) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
      const names = signature.getParameters().filter((p) => isOptionsParameter(checker, p)).map((p) => p.getName());
      if (names.length === 0) continue;
      const set = found.get(id) ?? new Set<string>();
      names.forEach((n) => set.add(n));
      found.set(id, set);
    }
  };
  const seen = new Set<ts.Symbol>();
  const visit = (symbol: ts.Symbol, name: string): void => {
    if (symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
    if (seen.has(symbol)) return;
    seen.add(symbol);
    if (symbol.flags & ts.SymbolFlags.ValueModule) {
      for (const child of checker.getExportsOfModule(symbol)) visit(child, `${name}.${child.getName()}`);
      return;
    }
    const declaration = symbol.valueDeclaration;
    if (declaration === undefined) return; // a type only
    const type = checker.getTypeOfSymbolAtLocation(symbol, declaration);
    add(name, type.getCallSignatures());
    add(`new ${name}`, type.getConstructSignatures());
    if (!(symbol.flags & ts.SymbolFlags.Class)) return;
    for (const member of type.getProperties()) {
      if (member.getName() === "prototype") continue;
      add(`${name}.${member.getName()}`, checker.getTypeOfSymbolAtLocation(member, declaration).getCallSignatures());
    }
    for (const member of checker.getDeclaredTypeOfSymbol(symbol).getProperties()) {
      const d = member.valueDeclaration;
      if (d === undefined || ts.getCombinedModifierFlags(d as ts.Declaration) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
      add(`${name}#${member.getName()}`, checker.getTypeOfSymbolAtLocation(member, d).getCallSignatures());
    }
  };
  const index = checker.getSymbolAtLocation(program.getSourceFile(entry) as ts.SourceFile) as ts.Symbol;
  // `tf` is TensorFlow.js re-exported as is: its options are not gradlab's contract.
  for (const symbol of checker.getExportsOfModule(index)) if (symbol.getName() !== "tf") visit(symbol, symbol.getName());
  return [...found].map(([id, names]) => ({ id, parameters: [...names] })).sort((a, b) => a.id.localeCompare(b.id));
}

function isOptionsParameter(checker: ts.TypeChecker, parameter: ts.Symbol): boolean {
  if (OPTIONS_NAME.test(parameter.getName())) return true;
  const declaration = parameter.valueDeclaration;
  if (declaration === undefined) return false;
  const type = checker.getNonNullableType(checker.getTypeAtLocation(declaration));
  const names = (type.isUnion() ? type.types : [type]).map((t) => (t.aliasSymbol ?? t.getSymbol())?.getName() ?? "");
  return names.some((n) => OPTIONS_TYPE.test(n));
}
