//! Imports inside `src/` point one way: no module depends, directly or
//! through others, on a module that depends on it.
//!
//! The check reads the sources (no compiler needed): the module tree from
//! `mod` declarations, and every `crate::`/`super::`/`self::`/child-module
//! path in `use` statements and in code. A path through a `pub use`
//! re-export counts as a dependency on the module that defines the item,
//! so a folder's `mod.rs` may re-export its children without creating a
//! cycle. Cycles are looked for at every folder level: the children of a
//! folder (each with its whole subtree) and the folder's own `mod.rs` must
//! form an acyclic graph. That is stricter than file-level acyclicity and
//! is what "the folders name the parts and imports point one way" means.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type ModPath = Vec<String>;

/// Cycles known and accepted, by folder and members (sorted). Keep empty.
const ACCEPTED: &[(&str, &[&str])] = &[
    // The engine's store spawns its background flush/compaction tasks,
    // which work on the store's shared state; splitting `store.rs` waits
    // for the engine branch to land (see the reshape report).
    ("crate::engine", &["background", "store"]),
];

/// Blanks comments, string and char literals (keeping line structure).
fn strip(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let blank = |out: &mut Vec<u8>, s: &[u8]| {
        out.extend(s.iter().map(|&c| if c == b'\n' { b'\n' } else { b' ' }))
    };
    let mut i = 0;
    while i < b.len() {
        let ident_before = i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        if b[i..].starts_with(b"//") {
            let end = b[i..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |p| i + p);
            blank(&mut out, &b[i..end]);
            i = end;
        } else if b[i..].starts_with(b"/*") {
            let end = find(b, i + 2, b"*/").map_or(b.len(), |p| p + 2);
            blank(&mut out, &b[i..end]);
            i = end;
        } else if b[i] == b'r' && !ident_before && raw_string_start(&b[i..]).is_some() {
            let hashes = raw_string_start(&b[i..]).unwrap_or(0);
            let mut close = vec![b'"'];
            close.extend(std::iter::repeat_n(b'#', hashes));
            let body = i + 2 + hashes;
            let end = find(b, body, &close).map_or(b.len(), |p| p + close.len());
            blank(&mut out, &b[i..end]);
            i = end;
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            let end = (j + 1).min(b.len());
            blank(&mut out, &b[i..end]);
            i = end;
        } else if b[i] == b'\'' {
            // A char literal ('x', '\n', '\u{..}'), else a lifetime.
            let len = char_literal_len(&b[i..]);
            blank(&mut out, &b[i..i + len.max(1)]);
            if len == 0 {
                out.pop();
                out.push(b'\'');
            }
            i += len.max(1);
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    (from..hay.len().saturating_sub(needle.len() - 1)).find(|&p| hay[p..].starts_with(needle))
}

fn raw_string_start(b: &[u8]) -> Option<usize> {
    let hashes = b[1..].iter().take_while(|&&c| c == b'#').count();
    (b.get(1 + hashes) == Some(&b'"')).then_some(hashes)
}

fn char_literal_len(b: &[u8]) -> usize {
    if b.len() >= 3 && b[1] != b'\\' && b[2] == b'\'' {
        return 3;
    }
    if b.len() >= 4
        && b[1] == b'\\'
        && let Some(p) = b[2..].iter().take(10).position(|&c| c == b'\'')
    {
        return p + 3;
    }
    // A multi-byte UTF-8 char literal.
    if b.len() >= 3
        && b[1] >= 0x80
        && let Some(p) = b[1..].iter().take(5).position(|&c| c == b'\'')
    {
        return p + 2;
    }
    0
}

struct Module {
    text: String,
    /// Byte ranges of inline `mod name { … }` blocks.
    inline: Vec<(usize, usize)>,
}

struct Crate {
    modules: BTreeMap<ModPath, Module>,
    children: BTreeMap<ModPath, BTreeSet<String>>,
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every `mod NAME` keyword in `text`: its name and the byte offset just
/// past the name (what follows decides declaration or inline block).
fn mod_keywords(text: &str) -> impl Iterator<Item = (String, usize)> + '_ {
    text.match_indices("mod ").filter_map(move |(pos, _)| {
        if pos > 0 && is_ident(text[..pos].chars().next_back().unwrap_or(' ')) {
            return None;
        }
        let rest = &text[pos + 4..];
        let skipped = rest.len() - rest.trim_start().len();
        let name: String = rest[skipped..]
            .chars()
            .take_while(|&c| is_ident(c))
            .collect();
        (!name.is_empty()).then(|| {
            let after_name = pos + 4 + skipped + name.len();
            (name, after_name)
        })
    })
}

/// `mod name;` declarations (with attributes and visibility).
fn mod_declarations(text: &str) -> Vec<String> {
    mod_keywords(text)
        .filter(|(_, after_name)| text[*after_name..].trim_start().starts_with(';'))
        .map(|(name, _)| name)
        .collect()
}

fn inline_mod_blocks(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    for (_, after_name) in mod_keywords(text) {
        let brace = text[after_name..].trim_start();
        if !brace.starts_with('{') {
            continue;
        }
        let start = after_name + (text[after_name..].len() - brace.len()) + 1;
        let mut depth = 1;
        let mut j = start;
        while j < b.len() && depth > 0 {
            match b[j] {
                b'{' => depth += 1,
                b'}' => depth -= 1,
                _ => {}
            }
            j += 1;
        }
        out.push((start, j));
    }
    out
}

fn load(path: &Path, module: ModPath, krate: &mut Crate) {
    let raw = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = strip(&raw);
    let file = path.file_name().and_then(|f| f.to_str()).unwrap_or("");
    let dir = path.parent().unwrap_or(Path::new("."));
    let subdir: PathBuf = if matches!(file, "mod.rs" | "lib.rs") {
        dir.to_path_buf()
    } else {
        dir.join(file.trim_end_matches(".rs"))
    };
    for name in mod_declarations(&text) {
        let candidates = [
            subdir.join(format!("{name}.rs")),
            subdir.join(&name).join("mod.rs"),
        ];
        if let Some(found) = candidates.iter().find(|c| c.exists()) {
            let mut child = module.clone();
            child.push(name.clone());
            krate
                .children
                .entry(module.clone())
                .or_default()
                .insert(name);
            load(found, child, krate);
        }
    }
    let inline = inline_mod_blocks(&text);
    krate.modules.insert(module, Module { text, inline });
}

/// `use` trees expanded into paths (`a::{b, c::d}` → `a::b`, `a::c::d`).
fn expand(tree: &str) -> Vec<Vec<String>> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let tree = tree.split(" as ").next().unwrap_or(tree).trim();
        return vec![tree.split("::").map(|s| s.trim().to_string()).collect()];
    };
    let prefix: Vec<String> = tree[..open]
        .trim_end_matches(':')
        .split("::")
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let (mut parts, mut depth, mut current) = (Vec::new(), 0, String::new());
    for c in inner.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    let mut out = Vec::new();
    for part in parts.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        for sub in expand(part) {
            let mut path = prefix.clone();
            path.extend(sub);
            out.push(path);
        }
    }
    out
}

/// A path as seen from `module`, where `inline_depth` counts the inline
/// `mod { }` blocks around it (each `super` first leaves one of them).
fn normalize(mut segs: Vec<String>, inline_depth: usize) -> Vec<String> {
    let supers = segs.iter().take_while(|s| *s == "super").count();
    if inline_depth > 0 && supers > 0 {
        let left = supers.min(inline_depth);
        segs.drain(..left);
        if supers == left {
            segs.insert(0, "self".into());
        }
    }
    segs
}

impl Crate {
    /// The deepest module `segs` names from `module`, and what follows it.
    fn resolve<'s>(&self, module: &ModPath, segs: &'s [String]) -> Option<(ModPath, &'s [String])> {
        let first = segs.first()?;
        let (mut at, mut rest) = match first.as_str() {
            "crate" => (vec![], &segs[1..]),
            "self" => (module.clone(), &segs[1..]),
            "super" => {
                let mut at = module.clone();
                let mut rest = segs;
                while rest.first().is_some_and(|s| s == "super") {
                    at.pop();
                    rest = &rest[1..];
                }
                (at, rest)
            }
            name if self.children.get(module).is_some_and(|c| c.contains(name)) => {
                (module.clone(), segs)
            }
            _ => return None,
        };
        while let Some(next) = rest.first() {
            if !self.children.get(&at).is_some_and(|c| c.contains(next)) {
                break;
            }
            at.push(next.clone());
            rest = &rest[1..];
        }
        Some((at, rest))
    }

    fn inline_depth(&self, module: &ModPath, pos: usize) -> usize {
        self.modules[module]
            .inline
            .iter()
            .filter(|(a, b)| *a <= pos && pos < *b)
            .count()
    }

    /// `use` statements of a module: (position, path, is `pub use`).
    fn uses(&self, module: &ModPath) -> Vec<(usize, Vec<String>, bool)> {
        let text = &self.modules[module].text;
        let mut out = Vec::new();
        for (pos, _) in text.match_indices("use ") {
            if pos > 0 && is_ident(text[..pos].chars().next_back().unwrap_or(' ')) {
                continue;
            }
            let Some(end) = text[pos..].find(';') else {
                continue;
            };
            let before = text[..pos].trim_end();
            let public =
                before.ends_with("pub") || before.ends_with(')') && before.contains("pub(");
            let depth = self.inline_depth(module, pos);
            for segs in expand(&text[pos + 4..pos + end]) {
                out.push((pos, normalize(segs, depth), public));
            }
        }
        out
    }

    /// Paths written in code (outside `use`): `a::b::c`.
    fn code_paths(&self, module: &ModPath) -> Vec<Vec<String>> {
        let text = &self.modules[module].text;
        let mut blanked = text.clone();
        for (pos, _) in text.match_indices("use ") {
            if pos > 0 && is_ident(text[..pos].chars().next_back().unwrap_or(' ')) {
                continue;
            }
            if let Some(end) = text[pos..].find(';') {
                blanked.replace_range(pos..pos + end, &" ".repeat(end));
            }
        }
        let b = blanked.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            let starts = is_ident(b[i] as char)
                && (i == 0 || !(is_ident(b[i - 1] as char) || b[i - 1] == b':'));
            if !starts {
                i += 1;
                continue;
            }
            let mut segs = Vec::new();
            let mut j = i;
            loop {
                let s = j;
                while j < b.len() && is_ident(b[j] as char) {
                    j += 1;
                }
                segs.push(blanked[s..j].to_string());
                if b[j..].starts_with(b"::") && b.get(j + 2).is_some_and(|&c| is_ident(c as char)) {
                    j += 2;
                } else {
                    break;
                }
            }
            if segs.len() > 1 {
                out.push(normalize(segs, self.inline_depth(module, i)));
            }
            i = j.max(i + 1);
        }
        out
    }

    /// Where each name a module re-exports (`pub use`) is defined.
    fn reexports(&self) -> BTreeMap<ModPath, BTreeMap<String, ModPath>> {
        let mut out: BTreeMap<ModPath, BTreeMap<String, ModPath>> = BTreeMap::new();
        for module in self.modules.keys() {
            for (_, segs, public) in self.uses(module) {
                if !public {
                    continue;
                }
                if let Some((target, rest)) = self.resolve(module, &segs)
                    && let Some(name) = rest.first()
                    && name != "*"
                {
                    out.entry(module.clone())
                        .or_default()
                        .insert(name.clone(), target);
                }
            }
        }
        out
    }

    /// Module → modules it depends on (re-exports resolved through).
    fn edges(&self) -> BTreeMap<ModPath, BTreeSet<ModPath>> {
        let reexports = self.reexports();
        let target = |module: &ModPath, segs: &[String]| -> Option<ModPath> {
            let (mut at, mut rest) = self.resolve(module, segs)?;
            for _ in 0..8 {
                match rest.first().and_then(|n| reexports.get(&at)?.get(n)) {
                    Some(next) if *next != at => {
                        at = next.clone();
                        rest = &rest[1..];
                    }
                    _ => break,
                }
            }
            Some(at)
        };
        let mut edges: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
        for module in self.modules.keys() {
            let mut paths: Vec<Vec<String>> = self
                .uses(module)
                .into_iter()
                .filter(|(_, _, public)| !public)
                .map(|(_, segs, _)| segs)
                .collect();
            paths.extend(self.code_paths(module));
            for segs in paths {
                if let Some(to) = target(module, &segs)
                    && to != *module
                {
                    edges.entry(module.clone()).or_default().insert(to);
                }
            }
        }
        edges
    }
}

/// Strongly connected components with more than one member (Tarjan).
fn cycles(
    nodes: &BTreeSet<String>,
    edges: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<String, usize>,
        low: BTreeMap<String, usize>,
        stack: Vec<String>,
        on_stack: BTreeSet<String>,
        out: Vec<Vec<String>>,
    }
    fn visit(v: &str, s: &mut State<'_>) {
        let n = s.index.len();
        s.index.insert(v.into(), n);
        s.low.insert(v.into(), n);
        s.stack.push(v.into());
        s.on_stack.insert(v.into());
        for w in s.edges.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(w, s);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v.into(), low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v.into(), low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(&w);
                let done = w == v;
                component.push(w);
                if done {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.out.push(component);
            }
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in nodes {
        if !state.index.contains_key(v) {
            visit(v, &mut state);
        }
    }
    state.out
}

fn name(module: &[String]) -> String {
    std::iter::once("crate".to_string())
        .chain(module.iter().cloned())
        .collect::<Vec<_>>()
        .join("::")
}

/// Cycles among the children of every folder (its own `mod.rs` is `<self>`).
fn folder_cycles(krate: &Crate) -> Vec<(String, Vec<String>)> {
    let edges = krate.edges();
    let mut out = Vec::new();
    for (parent, kids) in &krate.children {
        let mut nodes: BTreeSet<String> = kids.clone();
        nodes.insert("<self>".into());
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let member = |m: &ModPath| -> Option<String> {
            if !m.starts_with(parent) {
                return None;
            }
            Some(
                m.get(parent.len())
                    .cloned()
                    .unwrap_or_else(|| "<self>".into()),
            )
        };
        for (from, tos) in &edges {
            for to in tos {
                if let (Some(a), Some(b)) = (member(from), member(to))
                    && a != b
                {
                    graph.entry(a).or_default().insert(b);
                }
            }
        }
        for cycle in cycles(&nodes, &graph) {
            out.push((name(parent), cycle));
        }
    }
    out
}

fn server_crate() -> Crate {
    let mut krate = Crate {
        modules: BTreeMap::new(),
        children: BTreeMap::new(),
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    load(&root.join("lib.rs"), vec![], &mut krate);
    krate
}

#[test]
fn no_import_cycles_in_src() {
    let krate = server_crate();
    assert!(
        krate.modules.len() > 50,
        "found only {} modules: the module walk is broken",
        krate.modules.len()
    );
    let found = folder_cycles(&krate);
    let unexpected: Vec<String> = found
        .iter()
        .filter(|(folder, members)| {
            !ACCEPTED
                .iter()
                .any(|(f, m)| f == folder && *m == members.as_slice())
        })
        .map(|(folder, members)| format!("{folder}: {}", members.join(" ↔ ")))
        .collect();
    assert!(
        unexpected.is_empty(),
        "import cycles (each folder's children must depend one way):\n{}",
        unexpected.join("\n")
    );
    for (folder, members) in ACCEPTED {
        assert!(
            found
                .iter()
                .any(|(f, m)| f == folder && m.as_slice() == *members),
            "{folder}: {members:?} is no longer a cycle; remove it from ACCEPTED"
        );
    }
}

#[test]
fn the_check_sees_a_cycle() {
    // Two files that import each other, and a folder whose `mod.rs` uses a
    // child that uses it back.
    let mut krate = Crate {
        modules: BTreeMap::new(),
        children: BTreeMap::new(),
    };
    let mut add = |path: &[&str], text: &str| {
        let path: ModPath = path.iter().map(|s| s.to_string()).collect();
        if let Some((last, parent)) = path.split_last() {
            krate
                .children
                .entry(parent.to_vec())
                .or_default()
                .insert(last.clone());
        }
        let text = strip(text);
        let inline = inline_mod_blocks(&text);
        krate.modules.insert(path, Module { text, inline });
    };
    add(&[], "mod a; mod b; mod c;");
    add(&["a"], "use crate::b::thing; // use crate::c;");
    add(
        &["b"],
        "fn f() { super::a::other(); let s = \"crate::c::x\"; }",
    );
    add(&["c"], "pub mod d; pub use d::Item; fn g() { d::h(); }");
    add(
        &["c", "d"],
        "use super::Item; #[cfg(test)] mod tests { use super::*; }",
    );
    let found = folder_cycles(&krate);
    assert_eq!(
        found,
        vec![("crate".to_string(), vec!["a".to_string(), "b".to_string()])],
        "a ↔ b only: comments and strings are not imports, and a path through a re-export counts as its definition"
    );
}
