/**
 * The part of OData `$filter` the Dataverse Web API serves that clients of the CoE tables use,
 * written from Microsoft Learn ("Filter rows using OData", "Query data using the Web API"):
 * comparisons `eq ne gt ge lt le` of a column with a literal ('text' with '' for a quote, a bare
 * GUID, a number, true/false, null, an ISO date-time), `and`, `or`, `not`, parentheses, a lookup's
 * related column through its navigation property (`sdkmessageid/name eq 'UpsertMultiple'`, as
 * the bulk-operations sample checks a message's availability), and the Dataverse query function
 * `Microsoft.Dynamics.CRM.In(PropertyName='col',PropertyValues=['a','b'])`. Text and GUID
 * comparisons ignore case, as the service's SQL collation does. Anything else is a 400 naming it.
 */

export type Literal = string | number | boolean | null;

export type FilterNode =
  | { kind: "and" | "or"; left: FilterNode; right: FilterNode }
  | { kind: "not"; operand: FilterNode }
  | { kind: "compare"; op: CompareOp; path: string[]; value: Literal }
  | { kind: "in"; path: string[]; values: Literal[] };

type CompareOp = "eq" | "ne" | "gt" | "ge" | "lt" | "le";
const COMPARE_OPS = new Set(["eq", "ne", "gt", "ge", "lt", "le"]);

export class FilterSyntaxError extends Error {}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$/;

type Token =
  | { t: "str"; v: string }
  | { t: "word"; v: string }
  | { t: "punct"; v: "(" | ")" | "[" | "]" | "," | "=" };

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let v = "";
      i++;
      for (;;) {
        if (i >= text.length) throw new FilterSyntaxError("a text literal has no closing quote");
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            v += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += text[i++];
      }
      out.push({ t: "str", v });
    } else if ("()[],=".includes(c)) {
      out.push({ t: "punct", v: c as "(" | ")" | "[" | "]" | "," | "=" });
      i++;
    } else {
      const m = /^[A-Za-z0-9_.:+\-/]+/.exec(text.slice(i));
      if (!m) throw new FilterSyntaxError(`unexpected character '${c}' at position ${i}`);
      out.push({ t: "word", v: m[0] });
      i += m[0].length;
    }
  }
  return out;
}

/** Parses a `$filter` expression, or throws FilterSyntaxError saying where it stops making sense. */
export function parseFilter(text: string): FilterNode {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos];
  const isWord = (v: string) => peek()?.t === "word" && peek()!.v.toLowerCase() === v;
  const expect = (v: string) => {
    const tok = tokens[pos++];
    if (!tok || tok.v !== v) throw new FilterSyntaxError(`expected '${v}'`);
  };

  const literal = (): Literal => {
    const tok = tokens[pos++];
    if (!tok) throw new FilterSyntaxError("a comparison has no value");
    if (tok.t === "str") return tok.v;
    if (tok.t !== "word") throw new FilterSyntaxError(`'${tok.v}' is not a value`);
    const v = tok.v;
    if (v === "null") return null;
    if (v === "true" || v === "false") return v === "true";
    if (GUID.test(v)) return v.toLowerCase();
    if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v);
    if (DATE_TIME.test(v) && !Number.isNaN(Date.parse(v))) return v;
    throw new FilterSyntaxError(`'${v}' is not a value (text needs single quotes)`);
  };

  const primary = (): FilterNode => {
    if (peek()?.t === "punct" && peek()!.v === "(") {
      pos++;
      const inner = or();
      expect(")");
      return inner;
    }
    if (isWord("not")) {
      pos++;
      return { kind: "not", operand: primary() };
    }
    const tok = tokens[pos++];
    if (!tok || tok.t !== "word") throw new FilterSyntaxError("expected a column name");
    if (/^Microsoft\.Dynamics\.CRM\./i.test(tok.v)) return queryFunction(tok.v);
    const op = tokens[pos++];
    if (!op || op.t !== "word" || !COMPARE_OPS.has(op.v.toLowerCase()))
      throw new FilterSyntaxError(`expected eq, ne, gt, ge, lt or le after '${tok.v}'`);
    return {
      kind: "compare",
      op: op.v.toLowerCase() as CompareOp,
      path: tok.v.split("/"),
      value: literal(),
    };
  };

  const queryFunction = (name: string): FilterNode => {
    const fn = name.slice("Microsoft.Dynamics.CRM.".length);
    if (fn !== "In")
      throw new FilterSyntaxError(`the query function '${name}' is not emulated (only In is)`);
    expect("(");
    const args: Record<string, Literal | Literal[]> = {};
    for (;;) {
      const key = tokens[pos++];
      if (!key || key.t !== "word") throw new FilterSyntaxError("expected a parameter name");
      expect("=");
      if (peek()?.v === "[") {
        pos++;
        const values: Literal[] = [];
        while (peek()?.v !== "]") {
          values.push(literal());
          if (peek()?.v === ",") pos++;
        }
        pos++;
        args[key.v] = values;
      } else args[key.v] = literal();
      if (peek()?.v === ",") {
        pos++;
        continue;
      }
      expect(")");
      break;
    }
    const property = args.PropertyName;
    const values = args.PropertyValues;
    if (typeof property !== "string" || !Array.isArray(values))
      throw new FilterSyntaxError("In needs PropertyName='…' and PropertyValues=[…]");
    return {
      kind: "in",
      path: [property],
      values: values.map((v) => (typeof v === "string" && GUID.test(v) ? v.toLowerCase() : v)),
    };
  };

  const and = (): FilterNode => {
    let left = primary();
    while (isWord("and")) {
      pos++;
      left = { kind: "and", left, right: primary() };
    }
    return left;
  };

  const or = (): FilterNode => {
    let left = and();
    while (isWord("or")) {
      pos++;
      left = { kind: "or", left, right: and() };
    }
    return left;
  };

  const tree = or();
  if (pos < tokens.length)
    throw new FilterSyntaxError(`unexpected '${tokens[pos].v}' after a complete expression`);
  return tree;
}

/** Every column path the filter reads, so the caller can check each exists on the table. */
export function filterPaths(node: FilterNode): string[][] {
  switch (node.kind) {
    case "and":
    case "or":
      return [...filterPaths(node.left), ...filterPaths(node.right)];
    case "not":
      return filterPaths(node.operand);
    default:
      return [node.path];
  }
}

function comparable(v: Literal | undefined): string | number | boolean | null {
  if (v === undefined || v === null) return null;
  if (typeof v === "string") {
    if (DATE_TIME.test(v) && v.includes("T")) {
      const t = Date.parse(v);
      if (!Number.isNaN(t)) return t;
    }
    return v.toLowerCase();
  }
  return v;
}

function compare(op: CompareOp, actual: Literal | undefined, wanted: Literal): boolean {
  const a = comparable(actual);
  const b = comparable(wanted);
  if (op === "eq") return a === b;
  if (op === "ne") return a !== b;
  if (a === null || b === null) return false;
  if (op === "gt") return a > b;
  if (op === "ge") return a >= b;
  if (op === "lt") return a < b;
  return a <= b;
}

/** Whether a row matches; `resolve` reads a column path of the row (following a lookup). */
export function matches(
  node: FilterNode,
  resolve: (path: string[]) => Literal | undefined,
): boolean {
  switch (node.kind) {
    case "and":
      return matches(node.left, resolve) && matches(node.right, resolve);
    case "or":
      return matches(node.left, resolve) || matches(node.right, resolve);
    case "not":
      return !matches(node.operand, resolve);
    case "compare":
      return compare(node.op, resolve(node.path), node.value);
    case "in": {
      const actual = resolve(node.path);
      return node.values.some((v) => compare("eq", actual, v));
    }
  }
}
