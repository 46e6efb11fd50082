/** Syntax tree of an expr expression. Every node keeps the source offset for load errors. */

export type Node =
  | { kind: 'nil'; pos: number }
  | { kind: 'bool'; value: boolean; pos: number }
  | { kind: 'int'; value: number; pos: number }
  | { kind: 'float'; value: number; pos: number }
  | { kind: 'string'; value: string; pos: number }
  | { kind: 'array'; items: Node[]; pos: number }
  | { kind: 'map'; entries: { key: Node; value: Node }[]; pos: number }
  /** A name from the environment, a helper or a builtin. */
  | { kind: 'ident'; name: string; pos: number }
  /** `#`: the current element inside a builtin closure. */
  | { kind: 'pointer'; pos: number }
  /** `a.b` (also `.b` inside a closure, with object = pointer). */
  | { kind: 'member'; object: Node; name: string; pos: number }
  | { kind: 'index'; object: Node; index: Node; pos: number }
  | { kind: 'slice'; object: Node; from: Node | null; to: Node | null; pos: number }
  /** `f(args)` where f is a helper / builtin name. */
  | { kind: 'call'; callee: string; args: Node[]; pos: number }
  /** `obj.m(args)`: a method of the Go value (GetMeta, GetScope...). */
  | { kind: 'method'; object: Node; name: string; args: Node[]; pos: number }
  /** Closure argument of all/any/none/one/filter/map/count. */
  | { kind: 'closure'; body: Node; pos: number }
  | { kind: 'unary'; op: string; operand: Node; pos: number }
  | { kind: 'binary'; op: string; left: Node; right: Node; pos: number }
  | { kind: 'cond'; test: Node; then: Node; else: Node; pos: number };

export type NodeKind = Node['kind'];
export type NodeOf<K extends NodeKind> = Extract<Node, { kind: K }>;
