//! Mutations shared by the fuzz targets: values that break parsers, structural edits of a JSON
//! value, and byte edits of its text. Every choice comes from the case's seeded generator.

use bedrock_usage_mcp::usage::source::synthetic::Rng;
use serde_json::{Map, Value, json};

/// The words a target's inputs are made of, so that mutations stay near valid shapes.
pub struct Dictionary {
    /// Object keys the parser looks for.
    pub keys: &'static [&'static str],
    /// String values with a meaning (methods, versions, names).
    pub strings: &'static [&'static str],
}

/// A string from `items` (empty when there is none).
pub fn pick_str(rng: &mut Rng, items: &[&'static str]) -> &'static str {
    rng.pick(items).copied().unwrap_or_default()
}

/// A value that parsers get wrong: wrong types, extreme numbers, odd strings, nesting.
pub fn odd_value(rng: &mut Rng, dict: &Dictionary) -> Value {
    match rng.below(22) {
        0 => Value::Null,
        1 => json!(rng.chance(50)),
        2 => json!(0),
        3 => json!(-1),
        4 => json!(i64::MIN),
        5 => json!(u64::MAX),
        6 => json!(rng.next_u64()),
        7 => json!(1.5),
        8 => json!(-0.0),
        9 => json!(1e308),
        10 => json!(f64::MIN_POSITIVE),
        11 => json!(""),
        12 => json!(odd_string(rng)),
        13 => json!(pick_str(rng, dict.strings)),
        14 => json!([]),
        15 => json!({}),
        16 => nested(rng.in_range(1..=200) as usize),
        17 => json!([pick_str(rng, dict.strings), 1, null]),
        18 => {
            let mut object = Map::new();
            for _ in 0..rng.in_range(1..=4) {
                object.insert(pick_str(rng, dict.keys).to_owned(), odd_value_flat(rng));
            }
            Value::Object(object)
        }
        19 => json!("x".repeat(rng.in_range(1_000..=70_000) as usize)),
        20 => json!(rng.next_u64().to_string()),
        _ => json!(format!(
            "{}{}",
            pick_str(rng, dict.strings),
            odd_string(rng)
        )),
    }
}

/// [`odd_value`] without recursion into objects.
fn odd_value_flat(rng: &mut Rng) -> Value {
    match rng.below(6) {
        0 => Value::Null,
        1 => json!(-1),
        2 => json!(u64::MAX),
        3 => json!(odd_string(rng)),
        4 => json!([]),
        _ => json!({}),
    }
}

/// `depth` arrays inside each other.
pub fn nested(depth: usize) -> Value {
    let mut value = json!(1);
    for _ in 0..depth {
        value = json!([value]);
    }
    value
}

/// Text that is valid UTF-8 but awkward: controls, separators, escapes, wide and combining
/// characters, bidi overrides.
pub fn odd_string(rng: &mut Rng) -> String {
    const PARTS: [&str; 16] = [
        "\u{0}",
        "\n",
        "\r\n",
        "\t",
        "\u{1b}[2J",
        "\u{2028}",
        "\u{202e}",
        "\u{feff}",
        "é",
        "e\u{301}",
        "語",
        "🦀",
        "\\",
        "\"",
        "%00",
        "=?base64?AA==?=",
    ];
    let mut text = String::new();
    for _ in 0..rng.in_range(1..=6) {
        text.push_str(pick_str(rng, &PARTS));
        if rng.chance(30) {
            text.push_str("abc");
        }
    }
    text
}

/// JSON pointers to every node of `value` (the root is `""`), at most `limit` of them.
fn pointers(value: &Value, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), value)];
    while let Some((pointer, node)) = stack.pop() {
        if out.len() >= limit {
            break;
        }
        match node {
            Value::Object(object) => {
                for (key, child) in object {
                    let key = key.replace('~', "~0").replace('/', "~1");
                    stack.push((format!("{pointer}/{key}"), child));
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate().take(16) {
                    stack.push((format!("{pointer}/{i}"), child));
                }
            }
            _ => {}
        }
        out.push(pointer);
    }
    out
}

/// One structural edit somewhere in `value`: a node replaced, removed, retyped or wrapped, or
/// a key added.
pub fn mutate_value(rng: &mut Rng, value: &mut Value, dict: &Dictionary) {
    let targets = pointers(value, 256);
    let pointer = rng.pick(&targets).cloned().unwrap_or_default();
    let replacement = odd_value(rng, dict);
    let choice = rng.below(8);
    if choice == 0 && !pointer.is_empty() {
        remove_at(value, &pointer);
        return;
    }
    let Some(node) = value.pointer_mut(&pointer) else {
        return;
    };
    match choice {
        1 => {
            if let Value::Object(object) = node {
                object.insert(pick_str(rng, dict.keys).to_owned(), replacement);
                return;
            }
            *node = replacement;
        }
        2 => *node = json!([node.take()]),
        3 => *node = json!([node.clone(), node.take()]),
        4 => {
            *node = match node.take() {
                Value::String(s) => s.parse::<f64>().map_or(json!([s]), |n| json!(n)),
                Value::Number(n) => json!(n.to_string()),
                Value::Object(o) => Value::Array(o.into_values().collect()),
                other => json!({ "value": other }),
            }
        }
        5 => *node = json!(pick_str(rng, dict.strings)),
        _ => *node = replacement,
    }
}

fn remove_at(value: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    match value.pointer_mut(parent) {
        Some(Value::Object(object)) => {
            object.remove(&last);
        }
        Some(Value::Array(items)) => {
            if let Ok(i) = last.parse::<usize>()
                && i < items.len()
            {
                items.remove(i);
            }
        }
        _ => {}
    }
}

/// Tokens spliced into text: numbers JSON cannot hold exactly, escapes serde must reject or
/// decode, bytes that are not UTF-8, structure that does not close.
const SPLICES: [&[u8]; 18] = [
    b"18446744073709551616",
    b"-9223372036854775809",
    b"1e999999",
    b"0.000000000000000000000000000000000000001",
    b"123456789012345678901234567890",
    b"-0",
    b"\"\\ud800\"",
    b"\"\\u0000\"",
    b"\xff\xfe",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\x00",
    b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    b"{\"a\":",
    b"]}]}",
    b",,",
    b"NaN",
    b"\"\\x41\"",
];

/// One byte edit of `bytes`: a flip, insertion, deletion, truncation, duplication or splice.
pub fn mutate_bytes(rng: &mut Rng, bytes: &mut Vec<u8>) {
    let len = bytes.len() as u64;
    let at = rng.below(len + 1) as usize;
    match rng.below(7) {
        0 if at < bytes.len() => bytes[at] ^= 1 << rng.below(8),
        1 => bytes.insert(at, rng.below(256) as u8),
        2 if at < bytes.len() => {
            let end = (at + 1 + rng.below(16) as usize).min(bytes.len());
            bytes.drain(at..end);
        }
        3 => bytes.truncate(at),
        4 if at < bytes.len() => {
            let end = (at + 1 + rng.below(64) as usize).min(bytes.len());
            let copy = bytes[at..end].to_vec();
            bytes.splice(at..at, copy);
        }
        _ => {
            let token = rng.pick(&SPLICES).copied().unwrap_or_default();
            bytes.splice(at..at, token.iter().copied());
        }
    }
}
