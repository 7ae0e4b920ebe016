//! The line formats of export and import data files, pure (no I/O):
//!
//! - DynamoDB JSON: one `{"Item":{"name":{"S":"…"},…}}` per line.
//! - Amazon Ion text: one `$ion_1_0 {Item:{name:"…",…}}` per line, with
//!   DynamoDB's type mapping: S string, N decimal (`5.`, `1.5`), B blob
//!   (`{{base64}}`), BOOL bool, NULL null, M struct, L list, and sets as
//!   annotated lists `$dynamodb_SS::[…]`, `$dynamodb_NS::[…]`,
//!   `$dynamodb_BS::[…]`. The writer repeats the version marker on every
//!   line so each line stands alone; the reader accepts it anywhere at the
//!   top level (DynamoDB writes it once per file), and reads the subset of
//!   Ion text that items need (no s-expressions, timestamps, clobs or
//!   comments).
//! - CSV (import only): a header line (or `HeaderList`) naming the
//!   attributes, then one record per line, `Delimiter` separated, `"`
//!   quoting. Every value is a string except the key attributes, which take
//!   their AttributeDefinitions type (N parsed, B base64); an empty field
//!   is no attribute. A quoted field cannot hold a line break.
//!
//! Every parser returns a [`LineError`] for bad input, never panics: the
//! importer counts and skips such lines.

use base64::Engine as _;
use simd_json::BorrowedValue as Json;

use crate::catalog::{KeyAttr, KeyType};
use crate::model::number::Number;
use crate::model::value::{Item, Map, Value, ValueError, item_from_json};

/// Deepest nesting the Ion reader follows (DynamoDB's 32 levels, plus
/// the `{Item:…}` wrapper).
const ION_DEPTH_MAX: usize = 34;

/// Why one line could not be read as an item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError(pub String);

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn bad(what: impl Into<String>) -> LineError {
    LineError(what.into())
}

impl From<ValueError> for LineError {
    fn from(e: ValueError) -> Self {
        match e {
            ValueError::Validation(m) | ValueError::Serialization(m) => LineError(m),
        }
    }
}

/// Writes one DynamoDB JSON line of the stored item `stored`; returns the
/// item's size by DynamoDB's rule.
pub fn write_json_line(
    stored: &[u8],
    out: &mut Vec<u8>,
) -> Result<usize, crate::model::codec::DecodeError> {
    out.extend_from_slice(b"{\"Item\":");
    let size = crate::model::codec::write_item_json(stored, out)?;
    out.extend_from_slice(b"}\n");
    Ok(size)
}

/// Writes one INCREMENTAL_EXPORT line in DynamoDB JSON, as DynamoDB
/// writes them: `{"Metadata":{"WriteTimestampMicros":{"N":…}},"Keys":{…},
/// "NewImage":{…},"OldImage":{…}}` — no NewImage for a deleted item, no
/// OldImage for a new one (or in the NEW_IMAGE view). Items are stored
/// encodings; returns the size of the new (else old) image.
pub fn write_json_change(
    micros: u64,
    keys: &[u8],
    new: Option<&[u8]>,
    old: Option<&[u8]>,
    out: &mut Vec<u8>,
) -> Result<usize, crate::model::codec::DecodeError> {
    use crate::model::codec::write_item_json;
    out.extend_from_slice(
        format!("{{\"Metadata\":{{\"WriteTimestampMicros\":{{\"N\":\"{micros}\"}}}},\"Keys\":")
            .as_bytes(),
    );
    write_item_json(keys, out)?;
    let mut size = 0;
    if let Some(new) = new {
        out.extend_from_slice(b",\"NewImage\":");
        size = write_item_json(new, out)?;
    }
    if let Some(old) = old {
        out.extend_from_slice(b",\"OldImage\":");
        let old_size = write_item_json(old, out)?;
        if new.is_none() {
            size = old_size;
        }
    }
    out.extend_from_slice(b"}\n");
    Ok(size)
}

/// The Ion form of [`write_json_change`]:
/// `$ion_1_0 {Metadata:{WriteTimestampMicros:…},Keys:{…},NewImage:{…},OldImage:{…}}`.
pub fn write_ion_change(
    micros: u64,
    keys: &Item,
    new: Option<&Item>,
    old: Option<&Item>,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(
        format!("$ion_1_0 {{Metadata:{{WriteTimestampMicros:{micros}}},Keys:").as_bytes(),
    );
    write_ion_struct(keys, out);
    if let Some(new) = new {
        out.extend_from_slice(b",NewImage:");
        write_ion_struct(new, out);
    }
    if let Some(old) = old {
        out.extend_from_slice(b",OldImage:");
        write_ion_struct(old, out);
    }
    out.extend_from_slice(b"}\n");
}

/// Reads one DynamoDB JSON line (`{"Item":{…}}`); `line` is parsed in place.
pub fn parse_json_line(line: &mut [u8]) -> Result<Item, LineError> {
    let json = simd_json::to_borrowed_value(line).map_err(|e| bad(format!("not JSON: {e}")))?;
    let Json::Object(object) = &json else {
        return Err(bad("a line must be a JSON object"));
    };
    if object.len() != 1 {
        return Err(bad("a line must hold exactly one member, Item"));
    }
    let item = object
        .get("Item")
        .ok_or_else(|| bad("a line must hold exactly one member, Item"))?;
    Ok(item_from_json(item)?)
}

// ---------------------------------------------------------------- Ion write

/// Writes one Ion line of `item`.
pub fn write_ion_line(item: &Item, out: &mut Vec<u8>) {
    out.extend_from_slice(b"$ion_1_0 {Item:");
    write_ion_struct(item, out);
    out.extend_from_slice(b"}\n");
}

fn write_ion_struct(map: &Map, out: &mut Vec<u8>) {
    out.push(b'{');
    for (i, (name, value)) in map.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_ion_text(name, b'\'', out);
        out.push(b':');
        write_ion_value(value, out);
    }
    out.push(b'}');
}

fn write_ion_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::S(s) => write_ion_text(s, b'"', out),
        Value::N(n) => write_ion_decimal(n, out),
        Value::B(b) => write_ion_blob(b, out),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Null => out.extend_from_slice(b"null"),
        Value::M(m) => write_ion_struct(m, out),
        Value::L(list) => {
            out.push(b'[');
            for (i, v) in list.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_ion_value(v, out);
            }
            out.push(b']');
        }
        Value::Ss(set) => write_ion_set(b"$dynamodb_SS::[", set, out, |s, o| {
            write_ion_text(s, b'"', o)
        }),
        Value::Ns(set) => write_ion_set(b"$dynamodb_NS::[", set, out, write_ion_decimal),
        Value::Bs(set) => write_ion_set(b"$dynamodb_BS::[", set, out, |b, o| write_ion_blob(b, o)),
    }
}

fn write_ion_set<T>(open: &[u8], set: &[T], out: &mut Vec<u8>, each: impl Fn(&T, &mut Vec<u8>)) {
    out.extend_from_slice(open);
    for (i, v) in set.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        each(v, out);
    }
    out.push(b']');
}

/// An Ion decimal: the canonical text with a `.` (`5` → `5.`).
fn write_ion_decimal(n: &Number, out: &mut Vec<u8>) {
    let text = n.to_canonical();
    out.extend_from_slice(text.as_bytes());
    if !text.contains('.') {
        out.push(b'.');
    }
}

fn write_ion_blob(bytes: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"{{");
    out.extend_from_slice(
        base64::engine::general_purpose::STANDARD
            .encode(bytes)
            .as_bytes(),
    );
    out.extend_from_slice(b"}}");
}

/// A string (`"`) or quoted symbol (`'`) with Ion's escapes.
fn write_ion_text(text: &str, quote: u8, out: &mut Vec<u8>) {
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if c as u32 == quote as u32 => {
                out.push(b'\\');
                out.push(quote);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.extend_from_slice(format!("\\x{:02x}", c as u32).as_bytes());
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(quote);
}

// ----------------------------------------------------------------- Ion read

/// Reads one line of Ion text holding one `{Item:{…}}` (version markers
/// around it are skipped). A line with only a version marker or blanks is
/// `Ok(None)`.
pub fn parse_ion_line(line: &[u8]) -> Result<Option<Item>, LineError> {
    let text = std::str::from_utf8(line).map_err(|_| bad("not UTF-8"))?;
    let mut r = IonReader { s: text, at: 0 };
    let mut found: Option<Item> = None;
    loop {
        r.skip_space();
        if r.at >= r.s.len() {
            break;
        }
        if r.eat_word("$ion_1_0") {
            continue;
        }
        if found.is_some() {
            return Err(bad("more than one value on a line"));
        }
        let (annotation, value) = r.value(0)?;
        if annotation.is_some() {
            return Err(bad("an item cannot be annotated"));
        }
        let IonValue::Struct(mut fields) = value else {
            return Err(bad("a line must be a struct {Item:…}"));
        };
        if fields.len() != 1 || fields[0].0 != "Item" {
            return Err(bad("a line must be a struct with one field, Item"));
        }
        let Some((_, (None, IonValue::Struct(item_fields)))) = fields.pop() else {
            return Err(bad("Item must be a struct"));
        };
        let mut item = Item::new();
        for (name, v) in item_fields {
            crate::model::value::check_attribute_name(&name)?;
            let value = to_value(v)?;
            if item.insert(name.clone(), value).is_some() {
                return Err(bad(format!("duplicate attribute {name}")));
            }
        }
        found = Some(item);
    }
    Ok(found)
}

enum IonValue {
    Str(String),
    Decimal(String),
    Blob(Vec<u8>),
    Bool(bool),
    Null,
    Struct(Vec<(String, Annotated)>),
    List(Vec<Annotated>),
}

type Annotated = (Option<String>, IonValue);

fn to_value((annotation, value): Annotated) -> Result<Value, LineError> {
    let set_members = |value: IonValue| -> Result<Vec<IonValue>, LineError> {
        match value {
            IonValue::List(members) => members
                .into_iter()
                .map(|(a, v)| match a {
                    None => Ok(v),
                    Some(_) => Err(bad("a set member cannot be annotated")),
                })
                .collect(),
            _ => Err(bad("a set must be a list")),
        }
    };
    let value = match (annotation.as_deref(), value) {
        (Some("$dynamodb_SS"), v) => {
            let mut set = Vec::new();
            for m in set_members(v)? {
                let IonValue::Str(s) = m else {
                    return Err(bad("$dynamodb_SS holds strings"));
                };
                set.push(s);
            }
            Value::Ss(set)
        }
        (Some("$dynamodb_NS"), v) => {
            let mut set = Vec::new();
            for m in set_members(v)? {
                let IonValue::Decimal(d) = m else {
                    return Err(bad("$dynamodb_NS holds numbers"));
                };
                set.push(number(&d)?);
            }
            Value::Ns(set)
        }
        (Some("$dynamodb_BS"), v) => {
            let mut set = Vec::new();
            for m in set_members(v)? {
                let IonValue::Blob(b) = m else {
                    return Err(bad("$dynamodb_BS holds blobs"));
                };
                set.push(b);
            }
            Value::Bs(set)
        }
        (Some(other), _) => return Err(bad(format!("unknown annotation {other}"))),
        (None, IonValue::Str(s)) => Value::S(s),
        (None, IonValue::Decimal(d)) => Value::N(number(&d)?),
        (None, IonValue::Blob(b)) => Value::B(b),
        (None, IonValue::Bool(b)) => Value::Bool(b),
        (None, IonValue::Null) => Value::Null,
        (None, IonValue::Struct(fields)) => {
            let mut map = Map::new();
            for (name, v) in fields {
                crate::model::value::check_attribute_name(&name)?;
                if map.insert(name.clone(), to_value(v)?).is_some() {
                    return Err(bad(format!("duplicate attribute {name}")));
                }
            }
            Value::M(map)
        }
        (None, IonValue::List(members)) => Value::L(
            members
                .into_iter()
                .map(to_value)
                .collect::<Result<_, _>>()?,
        ),
    };
    // Re-validate through the one value checker (set rules, sizes, numbers).
    let mut json = Vec::new();
    value.write_json(&mut json);
    let parsed = simd_json::to_borrowed_value(&mut json).map_err(|e| bad(e.to_string()))?;
    Ok(Value::from_json(&parsed)?)
}

/// Ion decimal or int text as a DynamoDB number (`d` exponents, `_`
/// separators, a trailing `.`).
fn number(text: &str) -> Result<Number, LineError> {
    let mut t: String = text
        .chars()
        .filter(|&c| c != '_')
        .map(|c| if c == 'd' || c == 'D' { 'E' } else { c })
        .collect();
    if let Some(at) = t.find(".E") {
        t.remove(at);
    } else if t.ends_with('.') {
        t.pop();
    }
    Number::parse(&t).map_err(|e| bad(format!("bad number {text}: {e:?}")))
}

struct IonReader<'a> {
    s: &'a str,
    at: usize,
}

impl<'a> IonReader<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.at..]
    }

    fn skip_space(&mut self) {
        while let Some(c) = self.rest().chars().next() {
            if c.is_whitespace() {
                self.at += c.len_utf8();
            } else {
                break;
            }
        }
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn expect(&mut self, c: char) -> Result<(), LineError> {
        self.skip_space();
        if self.peek() == Some(c) {
            self.at += c.len_utf8();
            Ok(())
        } else {
            Err(bad(format!("expected '{c}' at byte {}", self.at)))
        }
    }

    /// Consumes `word` if it is next as a whole identifier.
    fn eat_word(&mut self, word: &str) -> bool {
        let rest = self.rest();
        if rest.starts_with(word)
            && !rest[word.len()..]
                .chars()
                .next()
                .is_some_and(is_identifier_char)
        {
            self.at += word.len();
            true
        } else {
            false
        }
    }

    fn identifier(&mut self) -> Option<&'a str> {
        let rest = self.rest();
        let first = rest.chars().next()?;
        if !(first.is_ascii_alphabetic() || first == '_' || first == '$') {
            return None;
        }
        let len = rest
            .char_indices()
            .find(|&(_, c)| !is_identifier_char(c))
            .map_or(rest.len(), |(i, _)| i);
        self.at += len;
        Some(&rest[..len])
    }

    /// A symbol: identifier or quoted ('…'), or a string used as a field
    /// name.
    fn symbol(&mut self) -> Result<String, LineError> {
        self.skip_space();
        match self.peek() {
            Some('\'') => self.quoted('\''),
            Some('"') => self.quoted('"'),
            _ => self
                .identifier()
                .map(str::to_string)
                .ok_or_else(|| bad(format!("expected a symbol at byte {}", self.at))),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Annotated, LineError> {
        if depth > ION_DEPTH_MAX {
            return Err(bad("nested too deeply"));
        }
        self.skip_space();
        let mut annotation = None;
        // An annotation is a symbol followed by `::`.
        let save = self.at;
        if matches!(self.peek(), Some('\'') | Some('$') | Some('_'))
            || self.peek().is_some_and(|c| c.is_ascii_alphabetic())
        {
            let symbol = if self.peek() == Some('\'') {
                Some(self.quoted('\'')?)
            } else {
                self.identifier().map(str::to_string)
            };
            self.skip_space();
            if let Some(symbol) = symbol
                && self.rest().starts_with("::")
            {
                self.at += 2;
                annotation = Some(symbol);
                self.skip_space();
            } else {
                self.at = save;
            }
        }
        let value = match self.peek() {
            None => return Err(bad("a value is missing")),
            Some('"') => IonValue::Str(self.quoted('"')?),
            Some('{') if self.rest().starts_with("{{") => IonValue::Blob(self.blob()?),
            Some('{') => {
                self.at += 1;
                let mut fields = Vec::new();
                loop {
                    self.skip_space();
                    if self.peek() == Some('}') {
                        self.at += 1;
                        break;
                    }
                    let name = self.symbol()?;
                    self.expect(':')?;
                    let v = self.value(depth + 1)?;
                    fields.push((name, v));
                    self.skip_space();
                    match self.peek() {
                        Some(',') => self.at += 1,
                        Some('}') => {}
                        _ => return Err(bad(format!("expected ',' or '}}' at byte {}", self.at))),
                    }
                }
                IonValue::Struct(fields)
            }
            Some('[') => {
                self.at += 1;
                let mut members = Vec::new();
                loop {
                    self.skip_space();
                    if self.peek() == Some(']') {
                        self.at += 1;
                        break;
                    }
                    members.push(self.value(depth + 1)?);
                    self.skip_space();
                    match self.peek() {
                        Some(',') => self.at += 1,
                        Some(']') => {}
                        _ => return Err(bad(format!("expected ',' or ']' at byte {}", self.at))),
                    }
                }
                IonValue::List(members)
            }
            Some(c) if c == '-' || c == '+' || c.is_ascii_digit() => {
                let rest = self.rest();
                let len = rest
                    .char_indices()
                    .find(|&(_, c)| {
                        !(c.is_ascii_digit()
                            || matches!(c, '.' | '-' | '+' | 'd' | 'D' | 'e' | 'E' | '_'))
                    })
                    .map_or(rest.len(), |(i, _)| i);
                self.at += len;
                IonValue::Decimal(rest[..len].to_string())
            }
            Some(_) => match self.identifier() {
                Some("true") => IonValue::Bool(true),
                Some("false") => IonValue::Bool(false),
                Some("null") => {
                    // `null.struct` and the like are nulls too.
                    if self.peek() == Some('.') {
                        self.at += 1;
                        let _ = self.identifier();
                    }
                    IonValue::Null
                }
                Some(other) => return Err(bad(format!("unsupported Ion value {other}"))),
                None => return Err(bad(format!("unexpected character at byte {}", self.at))),
            },
        };
        Ok((annotation, value))
    }

    fn blob(&mut self) -> Result<Vec<u8>, LineError> {
        self.at += 2;
        let rest = self.rest();
        let end = rest.find("}}").ok_or_else(|| bad("unterminated blob"))?;
        let text: String = rest[..end].chars().filter(|c| !c.is_whitespace()).collect();
        self.at += end + 2;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(|_| bad("a blob is not base64"))
    }

    /// A `"…"` string or `'…'` symbol with Ion's escapes.
    fn quoted(&mut self, quote: char) -> Result<String, LineError> {
        self.at += 1;
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        loop {
            let Some((i, c)) = chars.next() else {
                return Err(bad("unterminated string"));
            };
            if c == quote {
                self.at += i + 1;
                return Ok(out);
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            let Some((_, e)) = chars.next() else {
                return Err(bad("unterminated escape"));
            };
            let mut hex = |n: usize| -> Result<char, LineError> {
                let mut code = 0u32;
                for _ in 0..n {
                    let d = chars
                        .next()
                        .and_then(|(_, h)| h.to_digit(16))
                        .ok_or_else(|| bad("bad escape"))?;
                    code = code * 16 + d;
                }
                char::from_u32(code).ok_or_else(|| bad("bad escape"))
            };
            let decoded = match e {
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                '0' => '\0',
                'a' => '\u{7}',
                'b' => '\u{8}',
                'f' => '\u{c}',
                'v' => '\u{b}',
                '\\' | '"' | '\'' | '/' | '?' => e,
                'x' => hex(2)?,
                'u' => hex(4)?,
                'U' => hex(8)?,
                _ => return Err(bad("bad escape")),
            };
            out.push(decoded);
        }
    }
}

fn is_identifier_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$'
}

// ---------------------------------------------------------------------- CSV

/// How CSV records become items: the attribute names, in column order,
/// and the key attributes' types.
pub struct CsvLayout {
    pub delimiter: char,
    pub header: Vec<String>,
    pub keys: Vec<KeyAttr>,
}

/// The fields of one CSV line (`"` quoting, `""` for a quote inside).
pub fn split_csv(line: &str, delimiter: char) -> Result<Vec<String>, LineError> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
        } else if c == '"' && field.is_empty() && !was_quoted {
            quoted = true;
            was_quoted = true;
        } else if c == delimiter {
            fields.push(std::mem::take(&mut field));
            was_quoted = false;
        } else if was_quoted {
            return Err(bad("text after a closing quote"));
        } else {
            field.push(c);
        }
    }
    if quoted {
        return Err(bad("unterminated quote"));
    }
    fields.push(field);
    Ok(fields)
}

/// One CSV record as an item.
pub fn parse_csv_line(line: &[u8], layout: &CsvLayout) -> Result<Item, LineError> {
    let text = std::str::from_utf8(line).map_err(|_| bad("not UTF-8"))?;
    let fields = split_csv(text, layout.delimiter)?;
    if fields.len() > layout.header.len() {
        return Err(bad(format!(
            "{} fields, but the header names {}",
            fields.len(),
            layout.header.len()
        )));
    }
    let mut item = Item::new();
    for (name, field) in layout.header.iter().zip(fields) {
        if field.is_empty() {
            continue;
        }
        let value = match layout.keys.iter().find(|k| &k.name == name) {
            Some(key) => match key.key_type {
                KeyType::S => Value::S(field),
                KeyType::N => Value::N(
                    Number::parse(field.trim())
                        .map_err(|e| bad(format!("key {name} is not a number: {e:?}")))?,
                ),
                KeyType::B => Value::B(
                    base64::engine::general_purpose::STANDARD
                        .decode(field.trim().as_bytes())
                        .map_err(|_| bad(format!("key {name} is not base64")))?,
                ),
            },
            None => Value::S(field),
        };
        item.insert(name.clone(), value);
    }
    Ok(item)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_type() -> Item {
        let mut m = Map::new();
        m.insert("in".into(), Value::S("x'\"\\\n".into()));
        let n = |t: &str| Number::parse(t).expect("number");
        let mut item = Item::new();
        item.insert("s".into(), Value::S("héllo \"q\" 'a'".into()));
        item.insert("n".into(), Value::N(n("-12.5")));
        item.insert("i".into(), Value::N(n("1000")));
        item.insert("b".into(), Value::B(vec![0, 1, 255]));
        item.insert("t".into(), Value::Bool(true));
        item.insert("z".into(), Value::Null);
        item.insert("m".into(), Value::M(m));
        item.insert(
            "l".into(),
            Value::L(vec![Value::N(n("1")), Value::S("a".into())]),
        );
        item.insert("ss".into(), Value::Ss(vec!["a".into(), "b".into()]));
        item.insert("ns".into(), Value::Ns(vec![n("1"), n("2.5")]));
        item.insert("bs".into(), Value::Bs(vec![vec![1], vec![2, 3]]));
        item.insert("we ird'name".into(), Value::S("v".into()));
        item
    }

    #[test]
    fn ion_lines_round_trip_every_type() {
        let item = every_type();
        let mut line = Vec::new();
        write_ion_line(&item, &mut line);
        let text = String::from_utf8(line.clone()).expect("utf8");
        assert!(text.starts_with("$ion_1_0 {Item:{"), "{text}");
        assert!(text.contains("$dynamodb_SS::[\"a\",\"b\"]"), "{text}");
        assert!(text.contains("'i':1000."), "{text}");
        assert_eq!(parse_ion_line(&line).expect("parses"), Some(item));
    }

    #[test]
    fn ion_reads_dynamodb_style_text() {
        let text = b"$ion_1_0\n{Item:{id:\"a\",n:1.5d1,x:null.string,set:$dynamodb_NS::[1.,2]}}";
        let item = parse_ion_line(text).expect("parses").expect("an item");
        assert_eq!(item["n"], Value::N(Number::parse("15").expect("n")));
        assert_eq!(item["x"], Value::Null);
        assert_eq!(parse_ion_line(b"$ion_1_0 ").expect("blank"), None);
        for bad_line in [
            &b"{Item:{a:}}"[..],
            b"{Item:{a:\"x}}",
            b"{Other:{a:1.}}",
            b"{Item:{a:$dynamodb_SS::[1.]}}",
            b"{Item:{a:$dynamodb_SS::[\"x\",\"x\"]}}",
            b"[1.]",
            b"{Item:{a:{{!!}}}}",
        ] {
            assert!(
                parse_ion_line(bad_line).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad_line)
            );
        }
    }

    #[test]
    fn json_lines_round_trip_and_bad_ones_are_errors() {
        let item = every_type();
        let stored = crate::model::codec::encode_item(&item);
        let mut line = Vec::new();
        write_json_line(&stored, &mut line).expect("writes");
        assert_eq!(line.last(), Some(&b'\n'));
        let len = line.len() - 1;
        assert_eq!(parse_json_line(&mut line[..len]).expect("parses"), item);
        for bad_line in [
            &b"{}"[..],
            b"{\"Item\":{\"a\":{\"S\":1}}}",
            b"{\"Item\":{\"a\":{\"SS\":[]}}}",
            b"not json",
            b"{\"Item\":{},\"x\":1}",
        ] {
            assert!(parse_json_line(&mut bad_line.to_vec()).is_err());
        }
    }

    #[test]
    fn csv_records_type_keys_and_skip_empty_fields() {
        let layout = CsvLayout {
            delimiter: ',',
            header: vec!["id".into(), "n".into(), "note".into()],
            keys: vec![
                KeyAttr {
                    name: "id".into(),
                    key_type: KeyType::S,
                },
                KeyAttr {
                    name: "n".into(),
                    key_type: KeyType::N,
                },
            ],
        };
        let item = parse_csv_line(b"a,\"12\",\"say \"\"hi\"\", ok\"", &layout).expect("parses");
        assert_eq!(item["n"], Value::N(Number::parse("12").expect("n")));
        assert_eq!(item["note"], Value::S("say \"hi\", ok".into()));
        let item = parse_csv_line(b"b,3,", &layout).expect("parses");
        assert!(!item.contains_key("note"));
        assert!(parse_csv_line(b"c,notanumber,x", &layout).is_err());
        assert!(parse_csv_line(b"c,1,x,extra", &layout).is_err());
        assert!(parse_csv_line(b"c,1,\"open", &layout).is_err());
    }
}
