import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type Node, type SourceFile, SyntaxKind } from 'typescript/unstable/ast';
import * as is from 'typescript/unstable/ast/is';
import { API, type Project, SymbolFlags, type Symbol as TsSymbol } from 'typescript/unstable/sync';
import { bundling } from '../../lib/functions.ts';

/**
 * Which AWS calls a Lambda function's code can make, found from its handler file by a call graph over the
 * TypeScript sources (the type checker resolves each call; a call through an interface reaches the classes
 * and object literals the function creates that implement it, as in rapid type analysis). Only code that can
 * run counts: the three functions share one runtime, yet the sweep never looks a merchant up. The checker is
 * tsgo's, through the API the pinned `typescript` package ships (`typescript/unstable/*`).
 */

const root = fileURLToPath(new URL('../..', import.meta.url));

/** What one function's code calls, and every SDK command made in the modules it loads (reached or not). */
export interface FunctionCalls {
  readonly calls: readonly AwsCall[];
  /** IAM actions; the bundle check compares what the bundle holds with these. */
  readonly commandsInModules: ReadonlySet<string>;
}

/** One AWS API call the code can make: its IAM action, what names the resource, and where it is made. */
export interface AwsCall {
  /** e.g. `dynamodb:GetItem`. */
  readonly action: string;
  /** The property that holds the resource's name or ARN (`DynamoOrderTables.table`), or a library's own. */
  readonly resource: string;
  /** `adapters/dynamo-orders.ts:62 DynamoOrderTables.getOrder`. */
  readonly site: string;
}

/** The document client's commands, by the DynamoDB action each one sends. */
const documentCommands: Readonly<Record<string, string>> = {
  GetCommand: 'GetItem',
  PutCommand: 'PutItem',
  UpdateCommand: 'UpdateItem',
  DeleteCommand: 'DeleteItem',
  QueryCommand: 'Query',
  ScanCommand: 'Scan',
  BatchGetCommand: 'BatchGetItem',
  BatchWriteCommand: 'BatchWriteItem',
};

/** IAM's service prefix of each SDK package the functions use. */
const servicePrefixes: Readonly<Record<string, string>> = {
  '@aws-sdk/client-dynamodb': 'dynamodb',
  '@aws-sdk/lib-dynamodb': 'dynamodb',
  '@aws-sdk/client-sfn': 'states',
  '@aws-sdk/client-secrets-manager': 'secretsmanager',
  '@aws-sdk/client-s3': 's3',
};

/** IAM's name for an operation where it differs from the operation's (S3's listing is ListBucket). */
const iamNames: Readonly<Record<string, string>> = {
  's3:ListObjectsV2': 's3:ListBucket',
};

/**
 * Library classes that call AWS themselves once made, with what they call and the resource (a name the test
 * binds to a stack resource). The bundle check (`bundledCalls`) finds their commands; this says whose they are.
 */
export const libraryCalls: Readonly<
  Record<string, Readonly<Record<string, readonly { action: string; resource: string }[]>>>
> = {
  // Reads the merchant secret named `merchantSecretName(prefix, merchant_id)`.
  '@aws-lambda-powertools/parameters': {
    SecretsProvider: [{ action: 'secretsmanager:GetSecretValue', resource: 'SecretsProvider' }],
  },
};

/** The IAM action a command of an SDK package sends; unknown ones throw, so a new kind of call is mapped on purpose. */
export function iamAction(pkg: string, command: string): string {
  const prefix = servicePrefixes[pkg];
  const operation =
    pkg === '@aws-sdk/lib-dynamodb' ? documentCommands[command] : command.replace(/Command$/, '');
  if (!prefix || !operation)
    throw new Error(`${pkg} ${command}: no IAM action known (add it to test/infra/aws-calls.ts)`);
  return iamNames[`${prefix}:${operation}`] ?? `${prefix}:${operation}`;
}

const isFunctionLike = (node: Node) =>
  is.isFunctionDeclaration(node) ||
  is.isFunctionExpression(node) ||
  is.isArrowFunction(node) ||
  is.isMethodDeclaration(node) ||
  is.isConstructorDeclaration(node) ||
  is.isGetAccessorDeclaration(node) ||
  is.isSetAccessorDeclaration(node);

/** A function-valued member of an object literal: run only when called, through its name or an interface. */
const literalMember = (node: Node): Node | undefined => {
  if (is.isMethodDeclaration(node) || is.isGetAccessorDeclaration(node))
    return is.isObjectLiteralExpression(node.parent) ? node : undefined;
  if (is.isPropertyAssignment(node) && is.isObjectLiteralExpression(node.parent)) {
    const value = node.initializer;
    return is.isArrowFunction(value) || is.isFunctionExpression(value) ? value : undefined;
  }
  return undefined;
};

const nameOf = (node: Node): string | undefined => {
  const name = (node as { name?: Node }).name;
  return name && is.isIdentifier(name) ? name.text : undefined;
};

/** Whether `identifier` only names what it declares (a variable, a parameter, a member), rather than using it. */
const isDeclarationName = (identifier: Node): boolean => {
  const parent = identifier.parent;
  if ((parent as { name?: Node }).name !== identifier) return is.isImportSpecifier(parent);
  return !is.isPropertyAccessExpression(parent) && !is.isShorthandPropertyAssignment(parent);
};

interface Walked {
  /** Identifiers whose symbols say what the code calls, makes or reads. */
  readonly references: Node[];
  /** Function-valued members of object literals made here, with the literal. */
  readonly members: { readonly literal: Node; readonly member: Node; readonly name: string }[];
  /** Module specifiers of the imports a module's evaluation runs (static imports, `import()`). */
  readonly modules: Node[];
}

/** Type checker access over one program, with the answers cached: each answer is a round trip to tsgo. */
class Program {
  private readonly files = new Map<string, SourceFile>();
  private readonly symbols = new Map<Node, TsSymbol | undefined>();
  private readonly declarations = new Map<number, Node[]>();
  private readonly conformance = new Map<string, boolean>();
  private readonly project: Project;

  constructor(project: Project) {
    this.project = project;
  }

  file(path: string): SourceFile {
    let file = this.files.get(path);
    if (!file) {
      file = this.project.program.getSourceFile(path);
      if (!file) throw new Error(`${path} is not in the program`);
      this.files.set(path, file);
    }
    return file;
  }

  /** Resolves every node's symbol (aliases followed) in one request. */
  resolve(nodes: readonly Node[]): void {
    const pending = nodes.filter((node) => !this.symbols.has(node));
    if (pending.length === 0) return;
    const found = this.project.checker.getSymbolAtLocation(pending);
    pending.forEach((node, i) => {
      let symbol = found[i];
      if (is.isShorthandPropertyAssignment(node.parent) && node.parent.name === node)
        symbol = this.project.checker.getShorthandAssignmentValueSymbol(node.parent) ?? symbol;
      if (symbol && symbol.flags & SymbolFlags.Alias) symbol = this.project.checker.getAliasedSymbol(symbol);
      this.symbols.set(node, symbol);
    });
  }

  symbol(node: Node): TsSymbol | undefined {
    this.resolve([node]);
    return this.symbols.get(node);
  }

  /** The declarations of `node`'s symbol, as nodes; a module's is its source file. */
  declarationsOf(node: Node): Node[] {
    const symbol = this.symbol(node);
    if (!symbol) return [];
    let nodes = this.declarations.get(symbol.id);
    if (!nodes) {
      nodes = symbol.declarations.flatMap((handle) => {
        if (handle.kind === SyntaxKind.SourceFile) return [this.file(handle.path)];
        this.file(handle.path);
        const resolved = handle.resolve(this.project);
        return resolved ? [resolved] : [];
      });
      this.declarations.set(symbol.id, nodes);
    }
    return nodes;
  }

  /**
   * Whether only this project's code can call an object literal's members: the literal is written as one of its
   * types. One written for a library (a middleware), or as no type at all, may be called by code not analysed.
   */
  typedByProject(literal: Node): boolean {
    const declarations = this.declarationsOfSymbol(
      this.project.checker.getContextualType(literal as never)?.getSymbol(),
    );
    return declarations.length > 0 && declarations.every(inProject);
  }

  /** The declarations of `node`'s type: the class behind a binding like `const { C } = await import(…)`. */
  typeDeclarations(node: Node): Node[] {
    return this.declarationsOfSymbol(this.project.checker.getTypeAtLocation(node)?.getSymbol());
  }

  /**
   * Whether a value made by `source` (a class, or an object literal) can stand where `target` (an interface or
   * a class) is expected: what a call through `target` may reach. Structural, as TypeScript's typing is.
   */
  conforms(source: Node, target: Node): boolean {
    const key = `${pathOf(source)}:${source.pos}>${pathOf(target)}:${target.pos}`;
    let answer = this.conformance.get(key);
    if (answer === undefined) {
      const checker = this.project.checker;
      const typeOf = (node: Node) => {
        if (is.isObjectLiteralExpression(node)) return checker.getTypeAtLocation(node);
        const name = (node as { name?: Node }).name;
        const symbol = name && this.symbol(name);
        return symbol ? checker.getDeclaredTypeOfSymbol(symbol) : checker.getTypeAtLocation(node);
      };
      const from = typeOf(source);
      const to = typeOf(target);
      answer = from !== undefined && to !== undefined && checker.isTypeAssignableTo(from, to);
      this.conformance.set(key, answer);
    }
    return answer;
  }

  private declarationsOfSymbol(symbol: TsSymbol | undefined): Node[] {
    return (symbol?.declarations ?? []).flatMap((handle) => {
      this.file(handle.path);
      const resolved = handle.resolve(this.project);
      return resolved ? [resolved] : [];
    });
  }
}

const pathOf = (node: Node) => node.getSourceFile().fileName;
const inProject = (node: Node) => pathOf(node).startsWith(root) && !pathOf(node).includes('/node_modules/');
const packageOf = (node: Node) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(pathOf(node))?.[1];

/** `adapters/dynamo-orders.ts:62 DynamoOrderTables.getOrder`. */
function siteOf(node: Node): string {
  const file = node.getSourceFile();
  const line = file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1;
  const names: string[] = [];
  for (let at: Node | undefined = node; at && !is.isSourceFile(at); at = at.parent) {
    const name = nameOf(at);
    if (name && (isFunctionLike(at) || is.isClassDeclaration(at) || is.isVariableDeclaration(at)))
      names.unshift(name);
  }
  return `${file.fileName.slice(root.length)}:${line} ${names.join('.')}`;
}

/** The reachability of one function's code, and the AWS calls in it. */
class Reach {
  readonly calls: AwsCall[] = [];
  private readonly walked = new Set<Node>();
  private readonly instantiated = new Set<Node>();
  /** Calls through an interface or a class member: (declaring type, member name). */
  private readonly virtual: { type: Node; name: string }[] = [];
  private readonly virtualSeen = new Set<string>();
  private readonly members: { literal: Node; member: Node; name: string }[] = [];
  private readonly queue: { node: Node; as: 'function' | 'module' | 'class' }[] = [];
  private readonly ancestry = new Map<Node, Set<Node>>();
  private readonly program: Program;
  private readonly bindings: ReadonlySet<string>;

  constructor(program: Program, bindings: ReadonlySet<string>) {
    this.program = program;
    this.bindings = bindings;
  }

  run(entry: string): FunctionCalls {
    this.push(this.program.file(entry), 'module');
    for (let item = this.queue.shift(); item; item = this.queue.shift()) this.visit(item.node, item.as);
    return { calls: this.calls, commandsInModules: this.commandsInModules() };
  }

  /** The action of every SDK command made anywhere in the modules the function loads, reached or not. */
  private commandsInModules(): Set<string> {
    const made: Node[] = [];
    const look = (node: Node): undefined => {
      if (is.isNewExpression(node))
        made.push(is.isPropertyAccessExpression(node.expression) ? node.expression.name : node.expression);
      node.forEachChild(look);
      return undefined;
    };
    for (const module of this.walked) if (is.isSourceFile(module)) look(module);
    this.program.resolve(made);
    const actions = new Set<string>();
    for (const callee of made) {
      for (const declaration of this.program.declarationsOf(callee)) {
        const pkg = packageOf(declaration);
        const name = nameOf(declaration);
        if (pkg?.startsWith('@aws-sdk/') && name?.endsWith('Command')) actions.add(iamAction(pkg, name));
      }
    }
    return actions;
  }

  private push(node: Node, as: 'function' | 'module' | 'class') {
    const key = as === 'class' ? this.instantiated : this.walked;
    if (key.has(node)) return;
    key.add(node);
    this.queue.push({ node, as });
  }

  private visit(node: Node, as: 'function' | 'module' | 'class') {
    const walked: Walked = { references: [], members: [], modules: [] };
    if (as === 'module') {
      for (const statement of (node as SourceFile).statements) this.walkTopLevel(statement, walked);
    } else if (as === 'class') {
      this.instantiate(node, walked);
    } else {
      node.forEachChild((child) => this.walk(child, walked));
    }
    this.program.resolve(walked.references);
    for (const reference of walked.references) this.use(reference);
    for (const specifier of walked.modules) {
      for (const module of this.program.declarationsOf(specifier))
        if (is.isSourceFile(module) && inProject(module)) this.push(module, 'module');
    }
    for (const made of walked.members) {
      if (!this.program.typedByProject(made.literal)) {
        this.reach(made.member);
        continue;
      }
      this.members.push(made);
      for (const call of this.virtual)
        if (call.name === made.name && this.program.conforms(made.literal, call.type))
          this.reach(made.member);
    }
  }

  /** A module's evaluation: its imports and statements, but not the bodies of what it declares. */
  private walkTopLevel(statement: Node, walked: Walked) {
    if (is.isImportDeclaration(statement)) {
      if (statement.importClause?.phaseModifier !== SyntaxKind.TypeKeyword)
        walked.modules.push(statement.moduleSpecifier);
    } else if (is.isExportDeclaration(statement)) {
      if (statement.moduleSpecifier && !statement.isTypeOnly) walked.modules.push(statement.moduleSpecifier);
    } else if (is.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) {
        const value = declaration.initializer;
        if (value && !is.isArrowFunction(value) && !is.isFunctionExpression(value)) this.walk(value, walked);
      }
    } else if (
      !is.isFunctionDeclaration(statement) &&
      !is.isClassDeclaration(statement) &&
      !is.isInterfaceDeclaration(statement) &&
      !is.isTypeAliasDeclaration(statement)
    ) {
      this.walk(statement, walked);
    }
  }

  /** Code that runs with the enclosing function: nested callbacks too, but not object literal members. */
  private walk(node: Node, walked: Walked): undefined {
    if (is.isTypeNode(node) || is.isInterfaceDeclaration(node) || is.isTypeAliasDeclaration(node)) return;
    if (is.isClassDeclaration(node) || is.isClassExpression(node)) return;
    if (is.isIdentifier(node)) {
      if (!isDeclarationName(node)) walked.references.push(node);
      return;
    }
    const member = literalMember(node);
    if (member) {
      const name = nameOf(node);
      if (name) walked.members.push({ literal: node.parent, member, name });
      if (is.isPropertyAssignment(node) && is.isComputedPropertyName(node.name)) this.walk(node.name, walked);
      return;
    }
    if (is.isCallExpression(node) && node.expression.kind === SyntaxKind.ImportKeyword) {
      const [specifier] = node.arguments;
      if (specifier) walked.modules.push(specifier);
    }
    node.forEachChild((child) => this.walk(child, walked));
    return undefined;
  }

  /** `new C()`: its field initializers and constructors, its superclasses' too. */
  private instantiate(cls: Node, walked: Walked) {
    for (const ancestor of this.superclasses(cls)) {
      for (const member of (ancestor as unknown as { members: Node[] }).members) {
        if (is.isPropertyDeclaration(member) && member.initializer) this.walk(member.initializer, walked);
        if (is.isConstructorDeclaration(member)) this.reach(member);
      }
    }
    for (const call of this.virtual) this.dispatch(call.type, call.name, [cls]);
  }

  /** What a reference reaches: a function, a class made, a call through an interface, an AWS call. */
  private use(reference: Node) {
    const isNew = is.isNewExpression(reference.parent)
      ? reference.parent.expression === reference
      : is.isPropertyAccessExpression(reference.parent) &&
        reference.parent.name === reference &&
        is.isNewExpression(reference.parent.parent) &&
        reference.parent.parent.expression === reference.parent;
    let declarations = this.program.declarationsOf(reference);
    if (isNew && !declarations.some((d) => is.isClassDeclaration(d) || !inProject(d)))
      declarations = this.program.typeDeclarations(reference);
    for (const declaration of declarations) {
      if (!inProject(declaration)) {
        this.sdkMethod(declaration, reference);
        if (isNew)
          this.library(
            declaration,
            is.isNewExpression(reference.parent) ? reference.parent : reference.parent.parent,
          );
        continue;
      }
      if (is.isClassDeclaration(declaration)) {
        if (isNew) this.push(declaration, 'class');
      } else if (is.isVariableDeclaration(declaration) || is.isPropertyDeclaration(declaration)) {
        const value = declaration.initializer;
        if (value && (is.isArrowFunction(value) || is.isFunctionExpression(value))) this.reach(value);
        if (is.isPropertyDeclaration(declaration)) this.call(declaration.parent, nameOf(declaration));
      } else if (is.isPropertyAssignment(declaration)) {
        const member = literalMember(declaration);
        if (member) this.reach(member);
      } else if (
        is.isMethodSignatureDeclaration(declaration) ||
        is.isPropertySignatureDeclaration(declaration)
      ) {
        this.call(declaration.parent, nameOf(declaration));
      } else if (is.isMethodDeclaration(declaration) && is.isClassLikeDeclaration(declaration.parent)) {
        this.reach(declaration);
        this.call(declaration.parent, nameOf(declaration));
      } else if (isFunctionLike(declaration)) {
        this.reach(declaration);
      }
    }
  }

  private reach(fn: Node) {
    this.push(fn, 'function');
  }

  /** A call through `type`'s member `name`: every made class or literal that implements it may answer. */
  private call(type: Node, name: string | undefined) {
    if (!name) return;
    const key = `${pathOf(type)}:${type.pos}#${name}`;
    if (this.virtualSeen.has(key)) return;
    this.virtualSeen.add(key);
    this.virtual.push({ type, name });
    this.dispatch(type, name, [...this.instantiated]);
    for (const made of this.members)
      if (made.name === name && this.program.conforms(made.literal, type)) this.reach(made.member);
  }

  private dispatch(type: Node, name: string, classes: readonly Node[]) {
    for (const cls of classes) {
      if (!this.ancestorsOf(cls).has(type) && !this.program.conforms(cls, type)) continue;
      // The nearest class up the chain that has the member answers.
      for (const ancestor of this.superclasses(cls)) {
        const member = (ancestor as unknown as { members: Node[] }).members.find((m) => nameOf(m) === name);
        if (!member) continue;
        if (isFunctionLike(member)) this.reach(member);
        else if (is.isPropertyDeclaration(member) && member.initializer) {
          const value = member.initializer;
          if (is.isArrowFunction(value) || is.isFunctionExpression(value)) this.reach(value);
        }
        break;
      }
    }
  }

  /** `cls`, then its superclasses, nearest first. */
  private superclasses(cls: Node): Node[] {
    const chain = [cls];
    for (let at = this.extended(cls); at; at = this.extended(at)) chain.push(at);
    return chain;
  }

  private extended(cls: Node): Node | undefined {
    for (const clause of this.heritage(cls))
      if (clause.token === SyntaxKind.ExtendsKeyword)
        for (const type of clause.types)
          return this.program.declarationsOf(type.expression).find((d) => is.isClassDeclaration(d));
    return undefined;
  }

  private heritage(node: Node): { token: SyntaxKind; types: { expression: Node }[] }[] {
    return ((node as { heritageClauses?: unknown }).heritageClauses ?? []) as never;
  }

  /** Every class and interface `type` extends or implements, itself included. */
  private ancestorsOf(type: Node): Set<Node> {
    let found = this.ancestry.get(type);
    if (!found) {
      found = new Set([type]);
      this.ancestry.set(type, found);
      for (const clause of this.heritage(type))
        for (const heritage of clause.types)
          for (const declaration of this.program.declarationsOf(heritage.expression))
            for (const ancestor of this.ancestorsOf(declaration)) found.add(ancestor);
    }
    return found;
  }

  /** A client method that calls AWS without a command object (`DynamoDBDocument.get`) would go unseen: refused. */
  private sdkMethod(declaration: Node, reference: Node) {
    const pkg = packageOf(declaration);
    if (!pkg?.startsWith('@aws-sdk/')) return;
    if (!is.isMethodDeclaration(declaration) && !is.isMethodSignatureDeclaration(declaration)) return;
    const name = nameOf(declaration);
    if (name && !['send', 'from', 'destroy'].includes(name))
      throw new Error(
        `${siteOf(reference)}: calls the SDK's ${name}(); send a command instead, so this test sees the call`,
      );
  }

  /** `new X(…)` of a library class: an SDK command, or a class that calls AWS itself. */
  private library(declaration: Node, created: Node) {
    const pkg = packageOf(declaration);
    const name = nameOf(declaration);
    if (!pkg || !name) return;
    const site = siteOf(created);
    if (pkg.startsWith('@aws-sdk/') && name.endsWith('Command')) {
      this.calls.push({ action: iamAction(pkg, name), resource: this.resourceOf(created, site), site });
    }
    for (const call of libraryCalls[pkg]?.[name] ?? []) this.calls.push({ ...call, site });
  }

  /** The one bound property (`DynamoOrderTables.table`) a command's input reads its resource from. */
  private resourceOf(created: Node, site: string): string {
    const found = new Set<string>();
    const look = (node: Node): undefined => {
      if (is.isPropertyAccessExpression(node)) {
        for (const declaration of this.program.declarationsOf(node.name)) {
          const owner = nameOf(declaration.parent);
          const key = `${owner}.${node.name.text}`;
          if (this.bindings.has(key)) found.add(key);
        }
      }
      node.forEachChild(look);
      return undefined;
    };
    for (const argument of (created as unknown as { arguments?: Node[] }).arguments ?? []) look(argument);
    if (found.size !== 1) {
      throw new Error(
        `${site}: cannot tell which resource this call touches (bound properties found: ${[...found].join(', ') || 'none'}); name the property that holds it in the test's resource bindings`,
      );
    }
    return [...found][0] as string;
  }
}

/**
 * The AWS calls each entry's code can make. `bindings` are the properties (`Class.property`) that hold resource
 * names or ARNs; every SDK command must read exactly one of them.
 */
export function awsCallsOf(
  entries: readonly string[],
  bindings: ReadonlySet<string>,
): Map<string, FunctionCalls> {
  // A program of the entries and what they import: the repository's tsconfig would load CDK's types too.
  const dir = mkdtempSync(join(tmpdir(), 'aws-calls-'));
  const config = join(dir, 'tsconfig.json');
  writeFileSync(
    config,
    JSON.stringify({
      extends: join(root, 'tsconfig.json'),
      compilerOptions: { typeRoots: [join(root, 'node_modules/@types')] },
      files: entries.map((entry) => join(root, entry)),
      include: [],
    }),
  );
  const api = new API({ cwd: root });
  try {
    const snapshot = api.updateSnapshot({ openProjects: [config] });
    const project = snapshot.getProjects()[0];
    if (!project) throw new Error('tsgo opened no project');
    const program = new Program(project);
    return new Map(entries.map((entry) => [entry, new Reach(program, bindings).run(join(root, entry))]));
  } finally {
    api.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What a function's bundle holds: the IAM actions of the SDK commands in it, and the libraries bundled. */
export interface BundledCalls {
  readonly actions: ReadonlySet<string>;
  readonly packages: ReadonlySet<string>;
}

/**
 * Bundles `entry` as the stack does (lib/functions.ts, unminified so the names stay) and lists the SDK commands
 * the bundle can make, whoever makes them: the code, or a library that calls AWS itself.
 */
export async function bundledCalls(entry: string): Promise<BundledCalls> {
  const result = await build({
    entryPoints: [join(root, entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: bundling.target,
    mainFields: bundling.mainFields,
    external: bundling.externalModules,
    write: false,
    metafile: true,
    outfile: 'out.mjs',
    logLevel: 'silent',
  });
  const text = result.outputFiles.map((file) => file.text).join('\n');
  const sdk = new Set(
    Object.values(result.metafile.outputs)
      .flatMap((output) => output.imports)
      .filter((imported) => imported.external && imported.path.startsWith('@aws-sdk/'))
      .map((imported) => imported.path),
  );
  const actions = new Set<string>();
  for (const [name] of text.matchAll(/\b[A-Z][A-Za-z0-9]*Command\b/g)) {
    const packages = [...sdk].filter((pkg) =>
      existsSync(join(root, 'node_modules', pkg, 'dist-types/commands', `${name}.d.ts`)),
    );
    for (const pkg of packages) actions.add(iamAction(pkg, name));
  }
  const packages = new Set(
    Object.keys(result.metafile.inputs).flatMap((input) => {
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1];
      return pkg ? [pkg] : [];
    }),
  );
  return { actions, packages };
}
