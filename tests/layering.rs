//! Imports point down only: every top-level module of `src/` sits in one layer of [`LAYERS`],
//! and a module may import only from layers below its own (never from a sibling in its layer,
//! never from above). The order matches the Layout section of `src/lib.rs` and the README's
//! "Code layout". [`ALLOWED`] lists known violations still to remove (none since issue 14's
//! last step); the test also fails when one of them is gone, so the list only shrinks.
//!
//! It reads the sources as text: `use crate::x…`, `crate::x::…` paths in code, grouped
//! `crate::{x, y::z}` imports, and `super::` chains that climb out of a top-level module.
//! Comments are skipped. `src/bin` is not checked: the binaries sit above every layer.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The layers, bottom first. A module may import from any module of a lower layer.
const LAYERS: &[&[&str]] = &[
    // Bottom utilities: import nothing of the crate.
    &["limited_log", "clock", "aws", "protocol"],
    // Built on the utilities only, and none knows another: the session store, the usage
    // domain, the MCP client, and `server` (what a server offers, dispatch by method). That
    // `server` sits beside `store`, not above it, is the point: handlers never see the store.
    &["store", "usage", "client", "server", "auth"],
    // The product's offer, written against `server`. (The conformance fixtures are not in
    // the library: they are the workspace member crates/conformance.)
    &["tools"],
    // Streamable HTTP: carries `server` over HTTP, keeps sessions in `store`.
    &["transport"],
    // The Lambda door (wraps `transport`).
    &["lambda"],
    // Flags and environment of the binaries.
    &["config"],
    // Binding a listener or starting the Lambda runtime, from the flags.
    &["serve"],
];

/// Violations that exist today: (importer, imported, why, which issue step removes it).
/// Every entry must still be observed, or the test fails: delete it when it is fixed. Empty
/// since `server` reaches the session through its `Session` trait instead of the store.
const ALLOWED: &[(&str, &str, &str, &str)] = &[];

/// One import of a top-level module by another, where it was found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Import {
    importer: String,
    imported: String,
    at: String,
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read src dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file below `src/` (`store/dynamodb/cache.rs` -> `store::dynamodb::cache`,
/// `store/mod.rs` -> `store`), not counting inline `mod` blocks.
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("file name");
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" {
        parts.push(stem.to_owned());
    }
    parts
}

/// The source with `//` comments cut (doc comments included). A `//` inside a string
/// literal cuts the rest of that line too; that can only hide an import written after a
/// URL on the same line.
fn strip_comments(source: &str) -> String {
    source
        .lines()
        .map(|line| match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The identifier at the start of `s`.
fn ident(s: &str) -> &str {
    let end = s.find(|c: char| !is_ident(c)).unwrap_or(s.len());
    &s[..end]
}

/// The top-level module names that one `crate::`-rooted path names: `x` for `crate::x::…`,
/// each first segment of a group for `crate::{x, y::z}`.
fn roots_after_crate(rest: &str) -> Vec<String> {
    let rest = rest.trim_start();
    if let Some(group) = rest.strip_prefix('{') {
        let mut names = Vec::new();
        let mut depth = 0usize;
        let mut at_item_start = true;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => at_item_start = true,
                c if c.is_whitespace() => {}
                _ if at_item_start && depth == 0 => {
                    at_item_start = false;
                    let name = ident(&group[i..]);
                    if !name.is_empty() {
                        names.push(name.to_owned());
                    }
                }
                _ => {}
            }
        }
        names
    } else {
        vec![ident(rest).to_owned()]
    }
}

/// Every top-level module `source` (the file at module path `path`) names, other than its own.
/// `modules` are the crate's top-level modules.
fn imports_of(path: &[String], source: &str, modules: &BTreeSet<String>) -> Vec<(String, usize)> {
    let own = &path[0];
    let code = strip_comments(source);
    let line_of = |offset: usize| code[..offset].matches('\n').count() + 1;
    let mut found = Vec::new();
    // `crate::x`, not `mycrate::x` or `$crate::x`.
    for (i, _) in code.match_indices("crate::") {
        let before = code[..i].chars().next_back();
        if before.is_some_and(|c| is_ident(c) || c == '$') {
            continue;
        }
        for root in roots_after_crate(&code[i + "crate::".len()..]) {
            if modules.contains(&root) && &root != own {
                found.push((root, line_of(i)));
            }
        }
    }
    // `super::super::x` that climbs to the crate root and names another top-level module.
    let mut search = 0;
    while let Some(start) = code[search..].find("super::") {
        let start = search + start;
        let before = code[..start].chars().next_back();
        let mut rest = &code[start..];
        let mut climbs = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            climbs += 1;
            rest = r;
        }
        search = code.len() - rest.len();
        if before.is_some_and(is_ident) || climbs < path.len() {
            continue;
        }
        for root in roots_after_crate(rest) {
            if modules.contains(&root) && &root != own {
                found.push((root, line_of(start)));
            }
        }
    }
    found
}

/// The crate's top-level modules, as `src/lib.rs` declares them.
fn declared_modules() -> BTreeSet<String> {
    let lib = fs::read_to_string(src_dir().join("lib.rs")).expect("read lib.rs");
    lib.lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';').trim().to_owned())
        .collect()
}

fn layer_of(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|layer| layer.contains(&module))
        .unwrap_or_else(|| panic!("module `{module}` is in no layer of tests/layering.rs"))
}

fn all_imports() -> Vec<Import> {
    let modules = declared_modules();
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut imports = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&src).expect("below src");
        if relative.starts_with("bin") || relative == Path::new("lib.rs") {
            continue;
        }
        let path = module_path(relative);
        let source = fs::read_to_string(&file).expect("read source");
        for (imported, line) in imports_of(&path, &source, &modules) {
            imports.push(Import {
                importer: path[0].clone(),
                imported,
                at: format!("src/{}:{line}", relative.display()),
            });
        }
    }
    imports
}

fn points_down(importer: &str, imported: &str) -> bool {
    layer_of(imported) < layer_of(importer)
}

#[test]
fn every_module_is_in_exactly_one_layer() {
    let modules = declared_modules();
    assert!(modules.len() >= 10, "lib.rs parsed badly: {modules:?}");
    let layered: Vec<&str> = LAYERS.iter().flat_map(|l| l.iter().copied()).collect();
    let unique: BTreeSet<&str> = layered.iter().copied().collect();
    assert_eq!(unique.len(), layered.len(), "a module is in two layers");
    let layered: BTreeSet<String> = unique.into_iter().map(str::to_owned).collect();
    assert_eq!(
        layered, modules,
        "LAYERS and the `pub mod`s of src/lib.rs differ"
    );
}

#[test]
fn imports_point_down_only() {
    let allowed: BTreeSet<(&str, &str)> = ALLOWED.iter().map(|(a, b, _, _)| (*a, *b)).collect();
    let imports = all_imports();
    assert!(
        imports.len() > 50,
        "the scan found only {} imports: the parser is broken",
        imports.len()
    );

    let mut violations = Vec::new();
    let mut seen_allowed = BTreeSet::new();
    for import in &imports {
        if points_down(&import.importer, &import.imported) {
            continue;
        }
        let pair = (import.importer.as_str(), import.imported.as_str());
        if allowed.contains(&pair) {
            seen_allowed.insert(pair);
        } else {
            violations.push(format!(
                "{}: `{}` imports `{}` (layer {} -> layer {})",
                import.at,
                import.importer,
                import.imported,
                layer_of(&import.importer),
                layer_of(&import.imported)
            ));
        }
    }
    assert!(
        violations.is_empty(),
        "imports that do not point down (see LAYERS in tests/layering.rs):\n{}",
        violations.join("\n")
    );
    let gone: Vec<_> = allowed.difference(&seen_allowed).collect();
    assert!(
        gone.is_empty(),
        "allowlisted violations no longer exist, delete them from ALLOWED: {gone:?}"
    );
}

#[test]
fn the_scan_finds_planted_violations() {
    let modules: BTreeSet<String> = ["protocol", "server", "store", "transport", "usage"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    let path = |p: &[&str]| p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let found = |p: &[&str], src: &str| -> Vec<String> {
        imports_of(&path(p), src, &modules)
            .into_iter()
            .map(|(m, _)| m)
            .collect()
    };

    assert_eq!(
        found(&["protocol", "shape"], "use crate::server::CacheHints;\n"),
        ["server"]
    );
    assert_eq!(
        found(
            &["protocol"],
            "use crate::{\n    server::McpServer, store::Store};\n"
        ),
        ["server", "store"]
    );
    assert_eq!(
        found(&["protocol"], "use crate::{server::McpServer, store};\n"),
        ["server", "store"]
    );
    assert_eq!(
        found(&["server"], "fn f() { crate::transport::run() }\n"),
        ["transport"]
    );
    assert_eq!(
        found(
            &["store", "dynamodb", "cache"],
            "use super::super::super::usage::X;\n"
        ),
        ["usage"]
    );
    // Staying inside the module, comments and own-module paths are not imports.
    assert!(
        found(
            &["store", "dynamodb", "cache"],
            "use super::super::records::X;\n"
        )
        .is_empty()
    );
    assert!(
        found(
            &["protocol"],
            "// use crate::server::X;\n/// [`crate::store`]\n"
        )
        .is_empty()
    );
    assert!(found(&["protocol"], "use crate::protocol::version;\n").is_empty());
    assert!(found(&["protocol"], "use mycrate::server::X;\n").is_empty());

    // And a planted upward import is a violation.
    assert!(!points_down("protocol", "server"));
    assert!(points_down("transport", "server"));
    assert!(
        !points_down("store", "usage"),
        "siblings may not import each other"
    );
}
