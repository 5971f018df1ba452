//! The Kubernetes CEL libraries that make sense offline, on top of the
//! `cel` crate's standard library and its strings, lists and math
//! extensions: Kubernetes' list functions, regex `find`/`findAll`,
//! `quantity`, `url`, `ip`/`cidr` and `semver`.
//!
//! Every function is registered for any argument type and checks types
//! itself, so a wrong type is an evaluation error that names the function.

use cel::common::types::{DYN_TYPE, LIST_TYPE, STRING_TYPE};
use cel::common::value::CowVal;
use cel::objects::{Opaque, Value};
use cel::{Env, ExecutionError};
use std::cmp::Ordering;
use std::net::IpAddr;
use std::sync::Arc;

type Args<'b, 'v> = Vec<CowVal<'b, 'v>>;
type Out<'b, 'v> = Result<CowVal<'b, 'v>, ExecutionError>;

/// Adds the libraries to `env`.
pub fn extend(env: &mut Env) -> Result<(), cel::DeclarationError> {
    let global: &[(&str, usize, cel::common::functions::Function)] = &[
        ("quantity", 1, quantity),
        ("isQuantity", 1, is_quantity),
        ("url", 1, url),
        ("isURL", 1, is_url),
        ("ip", 1, ip),
        ("isIP", 1, is_ip),
        ("cidr", 1, cidr),
        ("isCIDR", 1, is_cidr),
        ("semver", 1, semver),
        ("semver", 2, semver),
        ("isSemver", 1, is_semver),
        ("isSemver", 2, is_semver),
    ];
    for (name, arity, op) in global {
        let id = format!("{name}/{arity}");
        env.add_overload(name, &id, (0..*arity).map(|_| DYN_TYPE).collect(), *op)?;
    }
    let member: &[(&str, usize, cel::common::functions::Function)] = &[
        (CACHED_MATCHES, 1, matches),
        ("isSorted", 0, is_sorted),
        ("sum", 0, sum),
        ("min", 0, min),
        ("max", 0, max),
        ("find", 1, find),
        ("findAll", 1, find_all),
        ("findAll", 2, find_all),
        ("isInteger", 0, quantity_is_integer),
        ("asInteger", 0, quantity_as_integer),
        ("asApproximateFloat", 0, quantity_as_float),
        ("sign", 0, quantity_sign),
        ("add", 1, quantity_add),
        ("sub", 1, quantity_sub),
        ("isGreaterThan", 1, is_greater_than),
        ("isLessThan", 1, is_less_than),
        ("compareTo", 1, compare_to),
        ("major", 0, semver_major),
        ("minor", 0, semver_minor),
        ("patch", 0, semver_patch),
        ("getScheme", 0, url_scheme),
        ("getHost", 0, url_host),
        ("getHostname", 0, url_hostname),
        ("getPort", 0, url_port),
        ("getEscapedPath", 0, url_path),
        ("getQuery", 0, url_query),
        ("family", 0, ip_family),
        ("isUnspecified", 0, ip_is_unspecified),
        ("isLoopback", 0, ip_is_loopback),
        ("isLinkLocalMulticast", 0, ip_is_link_local_multicast),
        ("isLinkLocalUnicast", 0, ip_is_link_local_unicast),
        ("isGlobalUnicast", 0, ip_is_global_unicast),
        ("isCanonical", 0, ip_is_canonical),
        ("containsIP", 1, cidr_contains_ip),
        ("containsCIDR", 1, cidr_contains_cidr),
        ("ip", 0, cidr_ip),
        ("masked", 0, cidr_masked),
        ("prefixLength", 0, cidr_prefix_length),
    ];
    for (name, arity, op) in member {
        let id = format!("dyn.{name}/{arity}");
        env.add_member_overload(
            name,
            &id,
            DYN_TYPE,
            (0..*arity).map(|_| DYN_TYPE).collect(),
            *op,
        )?;
    }
    // The strings extension has `indexOf` on strings; Kubernetes adds it on
    // lists.
    env.add_member_overload(
        "indexOf",
        "list.indexOf(dyn)",
        LIST_TYPE,
        vec![DYN_TYPE],
        list_index_of,
    )?;
    env.add_member_overload(
        "lastIndexOf",
        "list.lastIndexOf(dyn)",
        LIST_TYPE,
        vec![DYN_TYPE],
        list_last_index_of,
    )?;
    let _ = STRING_TYPE;
    Ok(())
}

fn values(function: &str, args: &[CowVal<'_, '_>]) -> Result<Vec<Value>, ExecutionError> {
    args.iter()
        .map(|a| {
            Value::try_from(a.as_ref()).map_err(|e| ExecutionError::function_error(function, e))
        })
        .collect()
}

fn out<'b, 'v>(value: Value) -> Out<'b, 'v> {
    let boxed: Box<dyn cel::common::value::Val> = value.try_into()?;
    Ok(CowVal::Owned(boxed))
}

fn fail(function: &str, message: impl std::fmt::Display) -> ExecutionError {
    ExecutionError::function_error(function, message)
}

fn string_arg<'a>(function: &str, value: &'a Value) -> Result<&'a str, ExecutionError> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(fail(
            function,
            format!("expected a string, got {}", other.type_of()),
        )),
    }
}

fn list_arg<'a>(function: &str, value: &'a Value) -> Result<&'a [Value], ExecutionError> {
    match value {
        Value::List(items) => Ok(items),
        other => Err(fail(
            function,
            format!("expected a list, got {}", other.type_of()),
        )),
    }
}

fn opaque<'a, T: 'static>(
    function: &str,
    value: &'a Value,
    what: &str,
) -> Result<&'a T, ExecutionError> {
    match value {
        Value::Opaque(o) => o
            .downcast_ref::<T>()
            .ok_or_else(|| fail(function, format!("expected a {what}"))),
        other => Err(fail(
            function,
            format!("expected a {what}, got {}", other.type_of()),
        )),
    }
}

// ---------------------------------------------------------------- lists

fn compare(function: &str, a: &Value, b: &Value) -> Result<Ordering, ExecutionError> {
    let ordering = match (a, b) {
        (Value::Int(a), Value::Int(b)) => a.partial_cmp(b),
        (Value::UInt(a), Value::UInt(b)) => a.partial_cmp(b),
        (Value::Float(a), Value::Float(b)) => a.partial_cmp(b),
        (Value::Int(a), Value::Float(b)) => (*a as f64).partial_cmp(b),
        (Value::Float(a), Value::Int(b)) => a.partial_cmp(&(*b as f64)),
        (Value::String(a), Value::String(b)) => a.partial_cmp(b),
        (Value::Bool(a), Value::Bool(b)) => a.partial_cmp(b),
        (Value::Bytes(a), Value::Bytes(b)) => a.partial_cmp(b),
        (Value::Opaque(_), Value::Opaque(_)) => ordered(a)
            .zip(ordered(b))
            .and_then(|(a, b)| a.partial_cmp(&b)),
        _ => None,
    };
    ordering.ok_or_else(|| {
        fail(
            function,
            format!("cannot compare {} with {}", a.type_of(), b.type_of()),
        )
    })
}

/// Quantities and versions compare by value, never with each other.
#[derive(PartialEq)]
enum Comparable {
    Quantity(Quantity),
    Version(Version),
}

impl PartialOrd for Comparable {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        match (self, other) {
            (Comparable::Quantity(a), Comparable::Quantity(b)) => a.partial_cmp(b),
            (Comparable::Version(a), Comparable::Version(b)) => a.partial_cmp(b),
            _ => None,
        }
    }
}

fn ordered(value: &Value) -> Option<Comparable> {
    let Value::Opaque(o) = value else { return None };
    if let Some(q) = o.downcast_ref::<Quantity>() {
        return Some(Comparable::Quantity(q.clone()));
    }
    o.downcast_ref::<Version>()
        .map(|v| Comparable::Version(v.clone()))
}

fn is_sorted<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let args = values("isSorted", &args)?;
    let items = list_arg("isSorted", &args[0])?;
    for pair in items.windows(2) {
        if compare("isSorted", &pair[0], &pair[1])? == Ordering::Greater {
            return out(Value::Bool(false));
        }
    }
    out(Value::Bool(true))
}

fn sum<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let args = values("sum", &args)?;
    let items = list_arg("sum", &args[0])?;
    let mut total = Value::Int(0);
    for (i, item) in items.iter().enumerate() {
        total = match (&total, item) {
            (_, item) if i == 0 => item.clone(),
            (Value::Int(a), Value::Int(b)) => Value::Int(
                a.checked_add(*b)
                    .ok_or_else(|| fail("sum", "integer overflow"))?,
            ),
            (Value::UInt(a), Value::UInt(b)) => Value::UInt(
                a.checked_add(*b)
                    .ok_or_else(|| fail("sum", "integer overflow"))?,
            ),
            (Value::Float(a), Value::Float(b)) => Value::Float(a + b),
            (a, b) => {
                return Err(fail(
                    "sum",
                    format!("cannot add {} and {}", a.type_of(), b.type_of()),
                ));
            }
        };
    }
    out(total)
}

fn extreme<'b, 'v>(function: &str, args: Args<'b, 'v>, keep: Ordering) -> Out<'b, 'v> {
    let args = values(function, &args)?;
    let items = list_arg(function, &args[0])?;
    let mut best = items
        .first()
        .ok_or_else(|| fail(function, "the list is empty"))?;
    for item in &items[1..] {
        if compare(function, item, best)? == keep {
            best = item;
        }
    }
    out(best.clone())
}

fn min<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    extreme("min", args, Ordering::Less)
}

fn max<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    extreme("max", args, Ordering::Greater)
}

fn list_index_of<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let args = values("indexOf", &args)?;
    let items = list_arg("indexOf", &args[0])?;
    let at = items.iter().position(|i| *i == args[1]);
    out(Value::Int(at.map_or(-1, |i| i as i64)))
}

fn list_last_index_of<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let args = values("lastIndexOf", &args)?;
    let items = list_arg("lastIndexOf", &args[0])?;
    let at = items.iter().rposition(|i| *i == args[1]);
    out(Value::Int(at.map_or(-1, |i| i as i64)))
}

// ---------------------------------------------------------------- regex

/// The name `matches` calls are rewritten to: the same function, with the
/// compiled pattern cached (the standard one compiles it on every call, the
/// largest cost of a policy that checks names on every object).
const CACHED_MATCHES: &str = "@kslint.matches";

/// Points `matches` calls at the cached implementation.
pub fn rewrite_regex_calls(expr: &mut cel::IdedExpr) {
    use cel::common::ast::{EntryExpr, Expr};
    match &mut expr.expr {
        Expr::Call(call) => {
            if call.func_name == "matches" && call.target.is_some() && call.args.len() == 1 {
                call.func_name = CACHED_MATCHES.to_owned();
            }
            if let Some(target) = &mut call.target {
                rewrite_regex_calls(target);
            }
            call.args.iter_mut().for_each(rewrite_regex_calls);
        }
        Expr::Select(s) => rewrite_regex_calls(&mut s.operand),
        Expr::List(l) => l.elements.iter_mut().for_each(rewrite_regex_calls),
        Expr::Map(m) => m.entries.iter_mut().for_each(|e| {
            if let EntryExpr::MapEntry(e) = &mut e.expr {
                rewrite_regex_calls(&mut e.key);
                rewrite_regex_calls(&mut e.value);
            }
        }),
        Expr::Struct(s) => s.entries.iter_mut().for_each(|e| {
            if let EntryExpr::StructField(f) = &mut e.expr {
                rewrite_regex_calls(&mut f.value);
            }
        }),
        Expr::Comprehension(c) => {
            for e in [
                &mut c.iter_range,
                &mut c.accu_init,
                &mut c.loop_cond,
                &mut c.loop_step,
                &mut c.result,
            ] {
                rewrite_regex_calls(e);
            }
        }
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
    }
}

thread_local! {
    /// Compiled patterns, per thread; bounded, and cleared when full.
    static PATTERNS: std::cell::RefCell<std::collections::HashMap<String, Result<regex::Regex, String>>> =
        Default::default();
}

/// Patterns are compiled with a size limit, so a hostile pattern is an
/// error, not a memory spike; each thread keeps the last few hundred.
fn regex(function: &str, pattern: &str) -> Result<regex::Regex, ExecutionError> {
    const KEPT: usize = 256;
    PATTERNS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(found) = cache.get(pattern) {
            return found.clone().map_err(|e| fail(function, e));
        }
        if cache.len() >= KEPT {
            cache.clear();
        }
        let compiled = regex::RegexBuilder::new(pattern)
            .size_limit(1 << 20)
            .dfa_size_limit(1 << 20)
            .build()
            .map_err(|e| e.to_string());
        cache.insert(pattern.to_owned(), compiled.clone());
        compiled.map_err(|e| fail(function, e))
    })
}

fn matches<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let text = args[0]
        .as_ref()
        .downcast_ref::<cel::common::types::CelString>();
    let pattern = args[1]
        .as_ref()
        .downcast_ref::<cel::common::types::CelString>();
    let (Some(text), Some(pattern)) = (text, pattern) else {
        return Err(fail("matches", "expected a string and a pattern string"));
    };
    let re = regex("matches", pattern.inner())?;
    out(Value::Bool(re.is_match(text.inner())))
}

fn find<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let args = values("find", &args)?;
    let text = string_arg("find", &args[0])?;
    let re = regex("find", string_arg("find", &args[1])?)?;
    let found = re.find(text).map_or("", |m| m.as_str());
    out(Value::String(Arc::new(found.to_owned())))
}

fn find_all<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let args = values("findAll", &args)?;
    let text = string_arg("findAll", &args[0])?;
    let re = regex("findAll", string_arg("findAll", &args[1])?)?;
    let limit = match args.get(2) {
        Some(Value::Int(n)) if *n >= 0 => *n as usize,
        Some(Value::Int(_)) | None => usize::MAX,
        Some(other) => {
            return Err(fail(
                "findAll",
                format!("expected an int limit, got {}", other.type_of()),
            ));
        }
    };
    let found = re
        .find_iter(text)
        .take(limit)
        .map(|m| Value::String(Arc::new(m.as_str().to_owned())))
        .collect();
    out(Value::List(Arc::new(found)))
}

// ---------------------------------------------------------------- quantity

/// A resource quantity, exactly: `mantissa * 10^exponent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantity {
    mantissa: i128,
    exponent: i32,
}

impl Opaque for Quantity {
    fn runtime_type_name(&self) -> &str {
        "kubernetes.Quantity"
    }
}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        let (a, b) = Quantity::aligned(self, other)?;
        Some(a.cmp(&b))
    }
}

impl Quantity {
    /// Parses Kubernetes' quantity syntax: a signed decimal number with a
    /// binary (`Ki`..`Ei`), decimal (`n`..`E`) or exponent (`e3`) suffix.
    pub fn parse(text: &str) -> Option<Quantity> {
        let (sign, rest) = match text.as_bytes().first()? {
            b'-' => (-1, &text[1..]),
            b'+' => (1, &text[1..]),
            _ => (1, text),
        };
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, suffix) = rest.split_at(number_end);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
            return None;
        }
        if whole.len() + fraction.len() > 30 {
            return None;
        }
        let digits = format!("{whole}{fraction}");
        let mut mantissa: i128 = digits.parse().ok()?;
        let mut exponent = -(fraction.len() as i32);
        let binary = |power: u32| 1i128.checked_shl(power * 10);
        match suffix {
            "" => {}
            "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => {
                let power = "KMGTPE".find(&suffix[..1])? as u32 + 1;
                mantissa = mantissa.checked_mul(binary(power)?)?;
            }
            "n" => exponent -= 9,
            "u" => exponent -= 6,
            "m" => exponent -= 3,
            "k" => exponent += 3,
            "M" => exponent += 6,
            "G" => exponent += 9,
            "T" => exponent += 12,
            "P" => exponent += 15,
            "E" => exponent += 18,
            _ => {
                let power = suffix.strip_prefix(['e', 'E'])?;
                let power: i32 = power.parse().ok()?;
                if power.abs() > 64 {
                    return None;
                }
                exponent += power;
            }
        }
        Some(Quantity {
            mantissa: sign * mantissa,
            exponent,
        })
    }

    /// Both mantissas at the smaller exponent, if that fits.
    fn aligned(a: &Quantity, b: &Quantity) -> Option<(i128, i128)> {
        let low = a.exponent.min(b.exponent);
        let scale = |q: &Quantity| {
            let shift = u32::try_from(q.exponent - low).ok()?;
            10i128.checked_pow(shift)?.checked_mul(q.mantissa)
        };
        Some((scale(a)?, scale(b)?))
    }

    fn integer(&self) -> Option<i64> {
        if self.exponent >= 0 {
            let value = 10i128
                .checked_pow(self.exponent as u32)?
                .checked_mul(self.mantissa)?;
            return i64::try_from(value).ok();
        }
        let divisor = 10i128.checked_pow(self.exponent.unsigned_abs())?;
        (self.mantissa % divisor == 0)
            .then(|| i64::try_from(self.mantissa / divisor).ok())
            .flatten()
    }

    fn approximate(&self) -> f64 {
        self.mantissa as f64 * 10f64.powi(self.exponent)
    }

    fn plus(&self, other: &Quantity) -> Option<Quantity> {
        let (a, b) = Quantity::aligned(self, other)?;
        Some(Quantity {
            mantissa: a.checked_add(b)?,
            exponent: self.exponent.min(other.exponent),
        })
    }
}

fn quantity_operand(function: &str, value: &Value) -> Result<Quantity, ExecutionError> {
    match value {
        Value::Int(i) => Ok(Quantity {
            mantissa: *i as i128,
            exponent: 0,
        }),
        other => opaque::<Quantity>(function, other, "quantity").cloned(),
    }
}

fn quantity<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let args = values("quantity", &args)?;
    let text = string_arg("quantity", &args[0])?;
    let q = Quantity::parse(text)
        .ok_or_else(|| fail("quantity", format!("{text:?} is not a quantity")))?;
    out(Value::Opaque(Arc::new(q)))
}

fn is_quantity<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let args = values("isQuantity", &args)?;
    out(Value::Bool(
        Quantity::parse(string_arg("isQuantity", &args[0])?).is_some(),
    ))
}

fn quantity_is_integer<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let args = values("isInteger", &args)?;
    let q = opaque::<Quantity>("isInteger", &args[0], "quantity")?;
    out(Value::Bool(q.integer().is_some()))
}

fn quantity_as_integer<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let args = values("asInteger", &args)?;
    let q = opaque::<Quantity>("asInteger", &args[0], "quantity")?;
    let i = q
        .integer()
        .ok_or_else(|| fail("asInteger", "the quantity is not a 64-bit integer"))?;
    out(Value::Int(i))
}

fn quantity_as_float<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let args = values("asApproximateFloat", &args)?;
    let q = opaque::<Quantity>("asApproximateFloat", &args[0], "quantity")?;
    out(Value::Float(q.approximate()))
}

fn quantity_sign<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let args = values("sign", &args)?;
    let q = opaque::<Quantity>("sign", &args[0], "quantity")?;
    out(Value::Int(q.mantissa.signum() as i64))
}

fn quantity_add<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let args = values("add", &args)?;
    let a = quantity_operand("add", &args[0])?;
    let b = quantity_operand("add", &args[1])?;
    let q = a.plus(&b).ok_or_else(|| fail("add", "overflow"))?;
    out(Value::Opaque(Arc::new(q)))
}

fn quantity_sub<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let args = values("sub", &args)?;
    let a = quantity_operand("sub", &args[0])?;
    let mut b = quantity_operand("sub", &args[1])?;
    b.mantissa = -b.mantissa;
    let q = a.plus(&b).ok_or_else(|| fail("sub", "overflow"))?;
    out(Value::Opaque(Arc::new(q)))
}

fn ordering_of<'b, 'v>(function: &str, args: Args<'b, 'v>) -> Result<Ordering, ExecutionError> {
    let args = values(function, &args)?;
    match (ordered(&args[0]), ordered(&args[1])) {
        (Some(a), Some(b)) => a
            .partial_cmp(&b)
            .ok_or_else(|| fail(function, "the values cannot be compared")),
        _ => Err(fail(
            function,
            "expected two quantities or two semantic versions",
        )),
    }
}

fn is_greater_than<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    out(Value::Bool(
        ordering_of("isGreaterThan", args)? == Ordering::Greater,
    ))
}

fn is_less_than<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    out(Value::Bool(
        ordering_of("isLessThan", args)? == Ordering::Less,
    ))
}

fn compare_to<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    out(Value::Int(ordering_of("compareTo", args)? as i64))
}

// ---------------------------------------------------------------- semver

/// A semantic version (semver.org 2.0); build metadata does not order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    core: [u64; 3],
    pre: Vec<String>,
}

impl Opaque for Version {
    fn runtime_type_name(&self) -> &str {
        "kubernetes.Semver"
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        let by_core = self.core.cmp(&other.core);
        if by_core != Ordering::Equal {
            return Some(by_core);
        }
        Some(match (self.pre.is_empty(), other.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => {
                for (a, b) in self.pre.iter().zip(&other.pre) {
                    let order = match (a.parse::<u64>(), b.parse::<u64>()) {
                        (Ok(a), Ok(b)) => a.cmp(&b),
                        (Ok(_), Err(_)) => Ordering::Less,
                        (Err(_), Ok(_)) => Ordering::Greater,
                        (Err(_), Err(_)) => a.cmp(b),
                    };
                    if order != Ordering::Equal {
                        return Some(order);
                    }
                }
                self.pre.len().cmp(&other.pre.len())
            }
        })
    }
}

impl Version {
    /// Parses `MAJOR.MINOR.PATCH[-pre][+build]`; `normalize` accepts a
    /// leading `v` and missing minor or patch, as Kubernetes' does.
    pub fn parse(text: &str, normalize: bool) -> Option<Version> {
        let mut text = text;
        if normalize {
            text = text.strip_prefix('v').unwrap_or(text);
        }
        let text = text.split_once('+').map_or(
            text,
            |(v, build)| {
                if build.is_empty() { "\u{0}" } else { v }
            },
        );
        let (core, pre) = match text.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (text, None),
        };
        let mut parts: Vec<&str> = core.split('.').collect();
        if normalize {
            while parts.len() < 3 {
                parts.push("0");
            }
        }
        if parts.len() != 3 {
            return None;
        }
        let mut numbers = [0u64; 3];
        for (slot, part) in numbers.iter_mut().zip(&parts) {
            let leading_zero = part.len() > 1 && part.starts_with('0');
            if part.is_empty()
                || !part.bytes().all(|b| b.is_ascii_digit())
                || (leading_zero && !normalize)
            {
                return None;
            }
            *slot = part.parse().ok()?;
        }
        let pre = match pre {
            None => Vec::new(),
            Some(pre) => {
                let ids: Vec<String> = pre.split('.').map(str::to_owned).collect();
                let valid = |id: &String| {
                    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                };
                if !ids.iter().all(valid) {
                    return None;
                }
                ids
            }
        };
        Some(Version { core: numbers, pre })
    }
}

fn semver_args(function: &str, args: &[Value]) -> Result<Option<Version>, ExecutionError> {
    let text = string_arg(function, &args[0])?;
    let normalize = match args.get(1) {
        Some(Value::Bool(b)) => *b,
        None => false,
        Some(other) => {
            return Err(fail(
                function,
                format!("expected a bool, got {}", other.type_of()),
            ));
        }
    };
    Ok(Version::parse(text, normalize))
}

fn semver<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let args = values("semver", &args)?;
    let version =
        semver_args("semver", &args)?.ok_or_else(|| fail("semver", "not a semantic version"))?;
    out(Value::Opaque(Arc::new(version)))
}

fn is_semver<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let args = values("isSemver", &args)?;
    out(Value::Bool(semver_args("isSemver", &args)?.is_some()))
}

fn version_part<'b, 'v>(function: &str, args: Args<'b, 'v>, part: usize) -> Out<'b, 'v> {
    let args = values(function, &args)?;
    let v = opaque::<Version>(function, &args[0], "semantic version")?;
    out(Value::Int(i64::try_from(v.core[part]).unwrap_or(i64::MAX)))
}

fn semver_major<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    version_part("major", args, 0)
}

fn semver_minor<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    version_part("minor", args, 1)
}

fn semver_patch<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    version_part("patch", args, 2)
}

// ---------------------------------------------------------------- url

/// An absolute URL or an absolute path, split as Kubernetes' `url()` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    scheme: String,
    host: String,
    path: String,
    query: String,
}

impl Opaque for Url {
    fn runtime_type_name(&self) -> &str {
        "kubernetes.URL"
    }
}

impl Url {
    /// Parses `scheme://host[:port]/path?query#fragment` or `/path`.
    pub fn parse(text: &str) -> Option<Url> {
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let text = text.split_once('#').map_or(text, |(t, _)| t);
        let (rest, query) = text.split_once('?').unwrap_or((text, ""));
        if let Some(path) = rest.strip_prefix('/').filter(|p| !p.starts_with('/')) {
            return Some(Url {
                scheme: String::new(),
                host: String::new(),
                path: format!("/{path}"),
                query: query.to_owned(),
            });
        }
        let (scheme, rest) = rest.split_once("://")?;
        let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if !scheme_ok {
            return None;
        }
        let (authority, path) = match rest.find('/') {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        Some(Url {
            scheme: scheme.to_owned(),
            host: host.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
        })
    }

    fn hostname(&self) -> &str {
        if let Some(rest) = self.host.strip_prefix('[') {
            return rest.split(']').next().unwrap_or("");
        }
        self.host.rsplit_once(':').map_or(&self.host, |(h, _)| h)
    }

    fn port(&self) -> &str {
        let after = match self.host.rfind(']') {
            Some(at) => &self.host[at + 1..],
            None => &self.host,
        };
        after.rsplit_once(':').map_or("", |(_, p)| p)
    }
}

fn url<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let args = values("url", &args)?;
    let text = string_arg("url", &args[0])?;
    let url = Url::parse(text).ok_or_else(|| fail("url", format!("{text:?} is not a URL")))?;
    out(Value::Opaque(Arc::new(url)))
}

fn is_url<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let args = values("isURL", &args)?;
    out(Value::Bool(
        Url::parse(string_arg("isURL", &args[0])?).is_some(),
    ))
}

fn url_string<'b, 'v>(function: &str, args: Args<'b, 'v>, part: fn(&Url) -> &str) -> Out<'b, 'v> {
    let args = values(function, &args)?;
    let url = opaque::<Url>(function, &args[0], "URL")?;
    out(Value::String(Arc::new(part(url).to_owned())))
}

fn url_scheme<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    url_string("getScheme", args, |u| &u.scheme)
}

fn url_host<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    url_string("getHost", args, |u| &u.host)
}

fn url_hostname<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    url_string("getHostname", args, Url::hostname)
}

fn url_port<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    url_string("getPort", args, Url::port)
}

fn url_path<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    url_string("getEscapedPath", args, |u| &u.path)
}

fn url_query<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let args = values("getQuery", &args)?;
    let url = opaque::<Url>("getQuery", &args[0], "URL")?;
    let mut query: std::collections::HashMap<cel::objects::Key, Vec<Value>> = Default::default();
    for pair in url.query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        query
            .entry(cel::objects::Key::String(Arc::new(key.to_owned())))
            .or_default()
            .push(Value::String(Arc::new(value.to_owned())));
    }
    let map = query
        .into_iter()
        .map(|(k, v)| (k, Value::List(Arc::new(v))))
        .collect();
    out(Value::Map(cel::objects::Map { map: Arc::new(map) }))
}

// ---------------------------------------------------------------- ip, cidr

/// An IP address as Kubernetes accepts it: no zone, no IPv4-mapped IPv6.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ip {
    address: IpAddr,
    canonical: bool,
}

impl Opaque for Ip {
    fn runtime_type_name(&self) -> &str {
        "net.IP"
    }
}

/// A CIDR block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cidr {
    address: IpAddr,
    prefix: u8,
}

impl Opaque for Cidr {
    fn runtime_type_name(&self) -> &str {
        "net.CIDR"
    }
}

fn parse_ip(text: &str) -> Option<Ip> {
    let address: IpAddr = text.parse().ok()?;
    if let IpAddr::V6(v6) = address
        && v6.to_ipv4_mapped().is_some()
    {
        return None;
    }
    Some(Ip {
        address,
        canonical: address.to_string() == text,
    })
}

fn parse_cidr(text: &str) -> Option<Cidr> {
    let (address, prefix) = text.split_once('/')?;
    let address = parse_ip(address)?.address;
    if prefix.is_empty() || (prefix.len() > 1 && prefix.starts_with('0')) {
        return None;
    }
    let prefix: u8 = prefix.parse().ok()?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    (prefix <= max).then_some(Cidr { address, prefix })
}

fn bits(address: IpAddr) -> (u128, u8) {
    match address {
        IpAddr::V4(v4) => (u32::from(v4) as u128, 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    }
}

fn mask(address: IpAddr, prefix: u8) -> IpAddr {
    let (value, width) = bits(address);
    let keep = if prefix == 0 {
        0
    } else {
        (!0u128 << (width - prefix)) & (if width == 32 { u32::MAX as u128 } else { !0 })
    };
    let masked = value & keep;
    match address {
        IpAddr::V4(_) => IpAddr::V4((masked as u32).into()),
        IpAddr::V6(_) => IpAddr::V6(masked.into()),
    }
}

impl Cidr {
    fn contains(&self, address: IpAddr) -> bool {
        address.is_ipv4() == self.address.is_ipv4()
            && mask(address, self.prefix) == mask(self.address, self.prefix)
    }
}

fn ip<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let args = values("ip", &args)?;
    let text = string_arg("ip", &args[0])?;
    let ip = parse_ip(text).ok_or_else(|| fail("ip", format!("{text:?} is not an IP address")))?;
    out(Value::Opaque(Arc::new(ip)))
}

fn is_ip<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let args = values("isIP", &args)?;
    out(Value::Bool(
        parse_ip(string_arg("isIP", &args[0])?).is_some(),
    ))
}

fn cidr<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let args = values("cidr", &args)?;
    let text = string_arg("cidr", &args[0])?;
    let cidr = parse_cidr(text).ok_or_else(|| fail("cidr", format!("{text:?} is not a CIDR")))?;
    out(Value::Opaque(Arc::new(cidr)))
}

fn is_cidr<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let args = values("isCIDR", &args)?;
    out(Value::Bool(
        parse_cidr(string_arg("isCIDR", &args[0])?).is_some(),
    ))
}

fn ip_test<'b, 'v>(function: &str, args: Args<'b, 'v>, test: fn(&Ip) -> bool) -> Out<'b, 'v> {
    let args = values(function, &args)?;
    let ip = opaque::<Ip>(function, &args[0], "IP address")?;
    out(Value::Bool(test(ip)))
}

fn ip_family<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let args = values("family", &args)?;
    let ip = opaque::<Ip>("family", &args[0], "IP address")?;
    out(Value::Int(if ip.address.is_ipv4() { 4 } else { 6 }))
}

fn ip_is_unspecified<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    ip_test("isUnspecified", args, |ip| ip.address.is_unspecified())
}

fn ip_is_loopback<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    ip_test("isLoopback", args, |ip| ip.address.is_loopback())
}

fn ip_is_link_local_multicast<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    ip_test("isLinkLocalMulticast", args, |ip| match ip.address {
        IpAddr::V4(v4) => v4.octets()[..3] == [224, 0, 0],
        IpAddr::V6(v6) => v6.segments()[0] & 0xff0f == 0xff02,
    })
}

fn ip_is_link_local_unicast<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    ip_test("isLinkLocalUnicast", args, |ip| match ip.address {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
    })
}

fn ip_is_global_unicast<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    // Go's definition: not unspecified, loopback, multicast, link-local or
    // the IPv4 broadcast address (private ranges count as global).
    ip_test("isGlobalUnicast", args, |ip| match ip.address {
        IpAddr::V4(v4) => {
            !(v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_multicast()
                || v4.is_link_local()
                || v4.is_broadcast())
        }
        IpAddr::V6(v6) => {
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || v6.segments()[0] & 0xffc0 == 0xfe80)
        }
    })
}

fn ip_is_canonical<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    ip_test("isCanonical", args, |ip| ip.canonical)
}

fn cidr_contains_ip<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let args = values("containsIP", &args)?;
    let cidr = opaque::<Cidr>("containsIP", &args[0], "CIDR")?;
    let address = match &args[1] {
        Value::String(s) => {
            parse_ip(s)
                .ok_or_else(|| fail("containsIP", format!("{s:?} is not an IP address")))?
                .address
        }
        other => opaque::<Ip>("containsIP", other, "IP address")?.address,
    };
    out(Value::Bool(cidr.contains(address)))
}

fn cidr_contains_cidr<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let args = values("containsCIDR", &args)?;
    let outer = opaque::<Cidr>("containsCIDR", &args[0], "CIDR")?;
    let inner = match &args[1] {
        Value::String(s) => {
            parse_cidr(s).ok_or_else(|| fail("containsCIDR", format!("{s:?} is not a CIDR")))?
        }
        other => opaque::<Cidr>("containsCIDR", other, "CIDR")?.clone(),
    };
    out(Value::Bool(
        inner.prefix >= outer.prefix && outer.contains(inner.address),
    ))
}

fn cidr_ip<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let args = values("ip", &args)?;
    let cidr = opaque::<Cidr>("ip", &args[0], "CIDR")?;
    out(Value::Opaque(Arc::new(Ip {
        address: cidr.address,
        canonical: true,
    })))
}

fn cidr_masked<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let args = values("masked", &args)?;
    let cidr = opaque::<Cidr>("masked", &args[0], "CIDR")?;
    out(Value::Opaque(Arc::new(Cidr {
        address: mask(cidr.address, cidr.prefix),
        prefix: cidr.prefix,
    })))
}

fn cidr_prefix_length<'b, 'v>(args: Args<'b, 'v>) -> Out<'b, 'v> {
    let args = values("prefixLength", &args)?;
    let cidr = opaque::<Cidr>("prefixLength", &args[0], "CIDR")?;
    out(Value::Int(cidr.prefix as i64))
}
