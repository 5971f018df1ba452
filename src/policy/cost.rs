//! A static upper bound on what evaluating a CEL expression costs, given
//! the sizes of the data it reads, like the API server's cost estimate:
//! kslint refuses to evaluate an expression whose bound is over the limit,
//! so a hostile policy cannot take unbounded time or memory.
//!
//! Every value is bounded by two numbers: `len`, the longest list or map
//! anywhere in it, and `weight`, its total size (elements and characters). A comprehension costs its range's length times its step;
//! concatenation adds sizes; everything else costs what it reads.

use cel::common::ast::{EntryExpr, Expr, IdedExpr, LiteralValue, operators};

/// The bound on a value: the longest collection in it, its total size, and
/// the largest element of any collection in it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Size {
    /// The longest list or map anywhere in the value (what a
    /// comprehension over it or a part of it iterates).
    pub len: f64,
    /// How many elements it has itself, if a collection (at most
    /// `len`): what a comprehension over it iterates.
    pub count: f64,
    /// Elements and characters in all.
    pub weight: f64,
    /// The weight of the largest element (or map value) of any
    /// collection in it: what a field, an index or an iteration variable
    /// can hold.
    pub elem: f64,
}

impl Size {
    /// A scalar.
    pub const ONE: Size = Size {
        len: 1.0,
        count: 1.0,
        weight: 1.0,
        elem: 1.0,
    };

    fn max(self, other: Size) -> Size {
        Size {
            len: self.len.max(other.len),
            count: self.count.max(other.count),
            weight: self.weight.max(other.weight),
            elem: self.elem.max(other.elem),
        }
    }

    fn sum(self, other: Size) -> Size {
        Size {
            len: self.len + other.len,
            count: self.count + other.count,
            weight: self.weight + other.weight,
            elem: self.elem.max(other.elem),
        }
    }

    /// What a part of this value can be: a field, an element, an
    /// iteration variable.
    fn part(self) -> Size {
        // A collection of length n weighs at least n.
        Size {
            len: self.len.min(self.elem).max(1.0),
            count: self.len.min(self.elem).max(1.0),
            weight: self.elem.min(self.weight),
            elem: self.elem.min(self.weight),
        }
    }

    fn scalar(weight: f64) -> Size {
        Size {
            len: 1.0,
            count: 1.0,
            weight: weight.max(1.0),
            elem: weight.max(1.0),
        }
    }
}

/// What the estimate knows of the data: the bound on each variable, and
/// the exact size of a field path into one where the data is at hand
/// (`object.metadata.name` is the name's length, not a bound from the
/// whole object).
pub trait Sizes {
    /// The bound on a variable.
    fn of(&self, name: &str) -> Option<Size>;
    /// The size of the value at `path` in a variable, if it is known.
    fn of_path(&self, _name: &str, _path: &[&str]) -> Option<Size> {
        None
    }
}

/// The sizes an estimate reads.
pub type Scope<'a> = &'a dyn Sizes;

impl<F: Fn(&str) -> Option<Size>> Sizes for F {
    fn of(&self, name: &str) -> Option<Size> {
        self(name)
    }
}

struct Estimate {
    cost: f64,
    size: Size,
}

/// The cost bound of `expr` when its variables have the sizes in `scope`
/// (an unknown name is bounded by `fallback`).
pub fn estimate(expr: &IdedExpr, scope: Scope, fallback: Size) -> f64 {
    let mut locals = Vec::new();
    walk(expr, scope, fallback, &mut locals).cost
}

fn lookup(name: &str, scope: Scope, fallback: Size, locals: &[(String, Size)]) -> Size {
    locals
        .iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, s)| *s)
        .or_else(|| scope.of(name))
        .unwrap_or(fallback)
}

fn walk(
    expr: &IdedExpr,
    scope: Scope,
    fallback: Size,
    locals: &mut Vec<(String, Size)>,
) -> Estimate {
    match &expr.expr {
        Expr::Unspecified => Estimate {
            cost: 1.0,
            size: Size::ONE,
        },
        Expr::Literal(literal) => {
            let n = match literal {
                LiteralValue::String(s) => s.inner().len() as f64,
                LiteralValue::Bytes(b) => b.inner().len() as f64,
                _ => 1.0,
            };
            Estimate {
                cost: 1.0,
                size: Size::scalar(n),
            }
        }
        Expr::Ident(name) => Estimate {
            cost: 1.0,
            size: lookup(name, scope, fallback, locals),
        },
        Expr::Select(select) if select.test => {
            let operand = walk(&select.operand, scope, fallback, locals);
            Estimate {
                cost: operand.cost + 1.0,
                size: Size::ONE,
            }
        }
        Expr::Select(_) => {
            // A chain `a.b.c`: from a variable whose data is at hand, the
            // exact size of the field; else the bound of a part, per step.
            let mut depth = 0;
            let mut base = expr;
            while let Expr::Select(s) = &base.expr {
                if s.test {
                    break;
                }
                depth += 1;
                base = &s.operand;
            }
            if let Expr::Ident(root) = &base.expr
                && !locals.iter().any(|(n, _)| n == root)
            {
                let mut path = Vec::with_capacity(depth);
                let mut at = expr;
                while let Expr::Select(s) = &at.expr {
                    if s.test {
                        break;
                    }
                    path.push(s.field.as_str());
                    at = &s.operand;
                }
                path.reverse();
                if let Some(size) = scope.of_path(root, &path) {
                    return Estimate {
                        cost: depth as f64 + 1.0,
                        size,
                    };
                }
            }
            let operand = walk(base, scope, fallback, locals);
            let mut size = operand.size;
            for _ in 0..depth {
                size = size.part();
            }
            Estimate {
                cost: operand.cost + depth as f64,
                size,
            }
        }
        Expr::List(list) => {
            let mut cost = 1.0;
            let mut size = Size {
                len: list.elements.len().max(1) as f64,
                count: list.elements.len().max(1) as f64,
                weight: 1.0,
                elem: 1.0,
            };
            for element in &list.elements {
                let e = walk(element, scope, fallback, locals);
                cost += e.cost;
                size.len = size.len.max(e.size.len);
                size.weight += e.size.weight;
                size.elem = size.elem.max(e.size.weight);
            }
            Estimate { cost, size }
        }
        Expr::Map(map) => entries(map.entries.iter().map(|e| &e.expr), scope, fallback, locals),
        Expr::Struct(s) => entries(s.entries.iter().map(|e| &e.expr), scope, fallback, locals),
        Expr::Comprehension(c) => {
            let range = walk(&c.iter_range, scope, fallback, locals);
            let init = walk(&c.accu_init, scope, fallback, locals);
            let n = range.size.count;
            let item = range.size.part();
            locals.push((c.iter_var.clone(), item));
            if let Some(second) = &c.iter_var2 {
                locals.push((second.clone(), item));
            }
            // One step from the initial accumulator says how much a step
            // adds; after n steps it holds at most n times that.
            locals.push((c.accu_var.clone(), init.size));
            let first = walk(&c.loop_step, scope, fallback, locals);
            locals.pop();
            // A step that adds nothing (a boolean or count accumulator)
            // keeps the accumulator's size; one that appends grows it by
            // as much each time.
            let grown = if first.size.weight <= init.size.weight && first.size.len <= init.size.len
            {
                init.size.max(first.size)
            } else {
                let added_len = (first.size.len - init.size.len).max(1.0);
                let added_weight = (first.size.weight - init.size.weight).max(1.0);
                Size {
                    len: init.size.len + n * added_len,
                    count: init.size.len + n * added_len,
                    weight: init.size.weight + n * added_weight,
                    elem: init.size.elem.max(added_weight).max(first.size.elem),
                }
            };
            locals.push((c.accu_var.clone(), grown));
            let step = walk(&c.loop_step, scope, fallback, locals);
            let condition = walk(&c.loop_cond, scope, fallback, locals);
            locals.pop();
            let pushed = 1 + usize::from(c.iter_var2.is_some());
            locals.truncate(locals.len() - pushed);
            locals.push((c.accu_var.clone(), grown));
            let result = walk(&c.result, scope, fallback, locals);
            locals.pop();
            Estimate {
                cost: range.cost + init.cost + n * (step.cost + condition.cost + 1.0) + result.cost,
                size: result.size,
            }
        }
        Expr::Call(call) => {
            let target = call
                .target
                .as_ref()
                .map(|t| walk(t, scope, fallback, locals));
            let args: Vec<Estimate> = call
                .args
                .iter()
                .map(|a| walk(a, scope, fallback, locals))
                .collect();
            let mut cost = 1.0
                + target.as_ref().map_or(0.0, |t| t.cost)
                + args.iter().map(|a| a.cost).sum::<f64>();
            let operands: Vec<Size> = target.iter().chain(&args).map(|e| e.size).collect();
            let total: f64 = operands.iter().map(|s| s.weight).sum();
            let largest = operands.iter().fold(Size::ONE, |a, s| a.max(*s));
            let first = operands.first().copied().unwrap_or(Size::ONE);
            let size = match call.func_name.as_str() {
                operators::ADD => {
                    let size = operands.iter().fold(
                        Size {
                            len: 0.0,
                            count: 0.0,
                            weight: 0.0,
                            elem: 1.0,
                        },
                        |a, s| a.sum(*s),
                    );
                    // A macro appending to its accumulator copies the
                    // accumulator's elements (shared, not deep) and the
                    // new one.
                    let appends = call.args.first().is_some_and(
                        |a| matches!(&a.expr, Expr::Ident(name) if name.starts_with('@')),
                    );
                    cost += if appends {
                        first.len + operands[1..].iter().map(|s| s.weight).sum::<f64>()
                    } else {
                        size.weight
                    };
                    size
                }
                // Choosing between values, or reading a length, copies
                // nothing.
                operators::CONDITIONAL
                | operators::LOGICAL_AND
                | operators::LOGICAL_OR
                | operators::LOGICAL_NOT
                | operators::NOT_STRICTLY_FALSE
                | operators::HAS
                | "size"
                | "type"
                | "orValue"
                | "hasValue"
                | "value" => {
                    cost += 1.0;
                    largest
                }
                operators::INDEX | operators::OPT_INDEX | operators::OPT_SELECT => {
                    cost += 1.0;
                    first.part()
                }
                operators::EQUALS
                | operators::NOT_EQUALS
                | operators::IN
                | operators::LESS
                | operators::LESS_EQUALS
                | operators::GREATER
                | operators::GREATER_EQUALS => {
                    cost += total;
                    Size::ONE
                }
                "matches" | "@kslint.matches" | "find" | "findAll" => {
                    let pattern = operands.get(1).copied().unwrap_or(Size::ONE);
                    cost += first.weight * (1.0 + pattern.weight) + pattern.weight * 100.0;
                    Size {
                        len: first.weight,
                        count: first.weight,
                        weight: 2.0 * first.weight,
                        elem: first.weight,
                    }
                }
                "replace" => {
                    let with = operands.get(2).copied().unwrap_or(Size::ONE);
                    let grown = first.weight * with.weight.max(1.0);
                    cost += grown + total;
                    Size::scalar(grown)
                }
                "split"
                | "flatten"
                | "join"
                | "format"
                | "string"
                | "@sortByAssociatedKeys"
                | "sort"
                | "sortBy"
                | "distinct"
                | "reverse"
                | "getQuery" => {
                    let n = total.max(1.0);
                    cost += n * n.log2().max(1.0);
                    if call.func_name == "distinct" {
                        cost += n * n;
                    }
                    Size {
                        len: n,
                        count: n,
                        weight: n * 2.0,
                        elem: n,
                    }
                }
                "range" | "lists.range" => {
                    let n = match call.args.first().map(|a| &a.expr) {
                        Some(Expr::Literal(LiteralValue::Int(i))) => (*i.inner()).max(1) as f64,
                        _ => 1_000_000.0,
                    };
                    cost += n;
                    Size {
                        len: n,
                        count: n,
                        weight: n,
                        elem: 1.0,
                    }
                }
                _ => {
                    // Reading each argument once: size, has, conversions,
                    // string and list functions of this library.
                    cost += total;
                    largest
                }
            };
            Estimate { cost, size }
        }
    }
}

fn entries<'a>(
    entries: impl Iterator<Item = &'a EntryExpr>,
    scope: Scope,
    fallback: Size,
    locals: &mut Vec<(String, Size)>,
) -> Estimate {
    let mut cost = 1.0;
    let mut size = Size::ONE;
    let mut count = 0.0;
    for entry in entries {
        count += 1.0;
        let parts: Vec<&IdedExpr> = match entry {
            EntryExpr::MapEntry(e) => vec![&e.key, &e.value],
            EntryExpr::StructField(f) => vec![&f.value],
        };
        for part in parts {
            let e = walk(part, scope, fallback, locals);
            cost += e.cost;
            size.len = size.len.max(e.size.len);
            size.weight += e.size.weight;
            size.elem = size.elem.max(e.size.weight);
        }
    }
    size.len = size.len.max(count);
    Estimate { cost, size }
}

/// The names `expr` reads that no comprehension binds, in order of first
/// use.
pub fn free_names(expr: &IdedExpr) -> Vec<String> {
    let mut found = Vec::new();
    let mut bound = Vec::new();
    collect(expr, &mut bound, &mut found);
    found
}

fn collect(expr: &IdedExpr, bound: &mut Vec<String>, found: &mut Vec<String>) {
    match &expr.expr {
        Expr::Ident(name) => {
            if !bound.contains(name) && !found.contains(name) {
                found.push(name.clone());
            }
        }
        Expr::Comprehension(c) => {
            collect(&c.iter_range, bound, found);
            collect(&c.accu_init, bound, found);
            let before = bound.len();
            bound.push(c.iter_var.clone());
            bound.extend(c.iter_var2.clone());
            bound.push(c.accu_var.clone());
            collect(&c.loop_cond, bound, found);
            collect(&c.loop_step, bound, found);
            collect(&c.result, bound, found);
            bound.truncate(before);
        }
        _ => {
            for child in children(expr) {
                collect(child, bound, found);
            }
        }
    }
}

/// The fields `expr` selects directly on `root` (`resources.Foo` gives
/// `Foo`), to give a map variable the keys an expression names.
pub fn selected_fields(expr: &IdedExpr, root: &str) -> Vec<String> {
    let mut found = Vec::new();
    select_walk(expr, root, &mut found);
    found
}

fn select_walk(expr: &IdedExpr, root: &str, found: &mut Vec<String>) {
    if let Expr::Select(s) = &expr.expr
        && matches!(&s.operand.expr, Expr::Ident(name) if name == root)
        && !found.contains(&s.field)
    {
        found.push(s.field.clone());
    }
    for child in children(expr) {
        select_walk(child, root, found);
    }
}

/// The expressions directly inside `expr`, in evaluation order.
fn children(expr: &IdedExpr) -> Vec<&IdedExpr> {
    match &expr.expr {
        Expr::Select(s) => vec![&s.operand],
        Expr::Call(c) => c.target.iter().map(|t| t.as_ref()).chain(&c.args).collect(),
        Expr::List(l) => l.elements.iter().collect(),
        Expr::Map(m) => m
            .entries
            .iter()
            .flat_map(|e| match &e.expr {
                EntryExpr::MapEntry(e) => vec![&e.key, &e.value],
                EntryExpr::StructField(f) => vec![&f.value],
            })
            .collect(),
        Expr::Struct(s) => s
            .entries
            .iter()
            .filter_map(|e| match &e.expr {
                EntryExpr::StructField(f) => Some(&f.value),
                EntryExpr::MapEntry(_) => None,
            })
            .collect(),
        Expr::Comprehension(c) => vec![
            &c.iter_range,
            &c.accu_init,
            &c.loop_cond,
            &c.loop_step,
            &c.result,
        ],
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => Vec::new(),
    }
}

/// The first field path the expression reads on `root` (`object.spec.replicas
/// <= 5` gives `spec.replicas`), the place a failure is most likely about.
pub fn first_path(expr: &IdedExpr, root: &str) -> Option<Vec<String>> {
    read_paths(expr, root).into_iter().find(|p| !p.is_empty())
}

/// `root.a.b` (or `root.?a.?b`) as the path [`a`, `b`].
fn field_chain(expr: &IdedExpr, root: &str) -> Option<Vec<String>> {
    match &expr.expr {
        Expr::Ident(name) if name == root => Some(Vec::new()),
        Expr::Select(s) => {
            let mut path = field_chain(&s.operand, root)?;
            path.push(s.field.clone());
            Some(path)
        }
        Expr::Call(c) if c.func_name == operators::OPT_SELECT && c.args.len() == 2 => {
            let mut path = field_chain(&c.args[0], root)?;
            match &c.args[1].expr {
                Expr::Literal(LiteralValue::String(field)) => path.push(field.inner().to_string()),
                _ => return None,
            }
            Some(path)
        }
        _ => None,
    }
}

/// The field paths under `root` an expression reads (`object.spec.replicas`
/// gives `spec.replicas`); an empty path when it reads `root` as a whole.
/// What it reads inside a path (iterating it, comparing it) is all of it.
pub fn read_paths(expr: &IdedExpr, root: &str) -> Vec<Vec<String>> {
    fn visit(expr: &IdedExpr, root: &str, out: &mut Vec<Vec<String>>) {
        if let Some(path) = field_chain(expr, root) {
            out.push(path);
            return;
        }
        for child in children(expr) {
            visit(child, root, out);
        }
    }
    let mut out = Vec::new();
    visit(expr, root, &mut out);
    out
}
