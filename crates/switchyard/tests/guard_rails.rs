//! Rules of the code base that a reviewer would otherwise have to remember (DESIGN.md §2):
//! the pure core does no IO and reads neither the clock nor OS randomness; the shell does not
//! index the engine's JSON by string.

use std::path::{Path, PathBuf};

fn crates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` file below `dir`, with its text.
fn sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path, text));
            }
        }
    }
    assert!(!out.is_empty(), "no sources under {}", dir.display());
    out
}

/// The `[dependencies]` table of a crate's manifest (not dev-dependencies: tests may use IO).
fn dependencies(krate: &str) -> Vec<String> {
    let manifest = std::fs::read_to_string(crates().join(krate).join("Cargo.toml")).unwrap();
    let table: toml::Table = manifest.parse().unwrap();
    table
        .get("dependencies")
        .and_then(|d| d.as_table())
        .map(|d| d.keys().cloned().collect())
        .unwrap_or_default()
}

const PURE: [&str; 3] = ["flow", "engine", "acd"];

/// Crates that do IO, run tasks or reach the network: never in the pure core.
const IO_CRATES: [&str; 12] = [
    "tokio",
    "sqlx",
    "axum",
    "reqwest",
    "hyper",
    "tower",
    "tower-http",
    "rand",
    "getrandom",
    "tempfile",
    "store",
    "runtime",
];

/// What reads the clock, OS randomness, the filesystem, the network or the environment.
const IMPURE_CALLS: [&str; 12] = [
    "SystemTime",
    "Instant::now",
    "Timestamp::now",
    "Zoned::now",
    "Uuid::new_v4",
    "Uuid::now_v7",
    "std::fs",
    "std::net",
    "std::env::var",
    "std::process",
    "std::thread::spawn",
    "tokio::",
];

#[test]
fn the_pure_core_depends_on_no_io_crate() {
    for krate in PURE {
        let deps = dependencies(krate);
        for bad in IO_CRATES {
            assert!(
                !deps.iter().any(|d| d == bad),
                "{krate} depends on {bad}: the pure core does no IO (DESIGN.md §2)"
            );
        }
    }
    // acd needs nothing of flow
    assert!(!dependencies("acd").iter().any(|d| d == "flow"));
    // a channel connector knows nothing of routings: not the engine, the distribution, the
    // store or the runtime
    for bad in ["engine", "acd", "store", "runtime"] {
        assert!(
            !dependencies("channels").iter().any(|d| d == bad),
            "channels depends on {bad}"
        );
    }
}

#[test]
fn the_pure_core_reads_no_clock_randomness_or_filesystem() {
    for krate in PURE {
        for (path, text) in sources(&crates().join(krate).join("src")) {
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                for bad in IMPURE_CALLS {
                    assert!(
                        !code.contains(bad),
                        "{}:{}: `{bad}` in the pure core: take it as an input instead",
                        path.display(),
                        n + 1
                    );
                }
            }
        }
    }
}

/// `value["field"]` — reading JSON by string instead of through a type.
fn indexes_json_by_string(code: &str) -> bool {
    let bytes = code.as_bytes();
    code.match_indices("[\"").any(|(i, _)| {
        // an index follows an expression (name, `)` or `]`), not `[` starting an array literal
        let before = code[..i].trim_end();
        let follows_expr = before
            .chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ')' || c == ']');
        let rest = &code[i + 2..];
        let closes_as_index = rest
            .find('"')
            .is_some_and(|j| bytes.get(i + 2 + j + 1) == Some(&b']'));
        follows_expr && closes_as_index
    })
}

#[test]
fn the_shell_reads_engine_json_through_types() {
    assert!(indexes_json_by_string(r#"let t = e.event["type"];"#));
    assert!(indexes_json_by_string(r#"row.state["cursor"]["memo"]"#));
    assert!(!indexes_json_by_string(r#"let a = ["a", "b"];"#));
    assert!(!indexes_json_by_string(r#"json!({"k": ["v"]})"#));
    for krate in ["channels", "runtime", "api"] {
        for (path, text) in sources(&crates().join(krate).join("src")) {
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                assert!(
                    !indexes_json_by_string(code),
                    "{}:{}: JSON indexed by string across the core/shell seam; use the type",
                    path.display(),
                    n + 1
                );
            }
        }
    }
}

/// A file's module path below `src` (`catalogue/params.rs` → `catalogue::params`,
/// `catalogue/mod.rs` → `catalogue`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

/// Module-to-module references of a crate (`crate::a::b` names the longest module prefix that
/// exists); a module's references to its own submodules and parents are not edges.
fn module_edges(src: &Path) -> Vec<(String, String)> {
    let files = sources(src);
    let modules: std::collections::HashSet<String> =
        files.iter().map(|(p, _)| module_of(src, p)).collect();
    let mut edges = Vec::new();
    for (path, text) in &files {
        let from = module_of(src, path);
        if from == "lib" || from == "main" {
            continue;
        }
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or_default();
            for (i, _) in code.match_indices("crate::") {
                let segments: Vec<String> = code[i + 7..]
                    .split("::")
                    .map(|s| {
                        s.chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect()
                    })
                    .take_while(|s: &String| !s.is_empty())
                    .collect();
                let to = (1..=segments.len())
                    .rev()
                    .map(|n| segments[..n].join("::"))
                    .find(|m| modules.contains(m));
                if let Some(to) = to {
                    let related = to.starts_with(&format!("{from}::"))
                        || from.starts_with(&format!("{to}::"))
                        || to == from;
                    if !related {
                        edges.push((from.clone(), to));
                    }
                }
            }
        }
    }
    edges.sort();
    edges.dedup();
    edges
}

/// A cycle in the graph, if any (as the modules on it).
fn find_cycle(edges: &[(String, String)]) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &[(String, String)],
        path: &mut Vec<String>,
        done: &mut std::collections::HashSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for (_, to) in edges.iter().filter(|(f, _)| f == node) {
            if let Some(c) = visit(to, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = std::collections::HashSet::new();
    for (from, _) in edges {
        if let Some(c) = visit(from, edges, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

#[test]
fn no_module_of_a_crate_imports_itself_through_others() {
    let cycle = vec![
        ("a".to_owned(), "b".to_owned()),
        ("b".to_owned(), "a".to_owned()),
    ];
    assert!(find_cycle(&cycle).is_some());
    for krate in [
        "flow",
        "engine",
        "acd",
        "store",
        "channels",
        "runtime",
        "api",
        "switchyard",
    ] {
        let edges = module_edges(&crates().join(krate).join("src"));
        if let Some(c) = find_cycle(&edges) {
            panic!("{krate}: modules import each other: {}", c.join(" → "));
        }
    }
}

/// `api` talks to `runtime` only: no handler reads the store behind the services' back (their
/// caches, their locks, their rules).
#[test]
fn the_api_reads_nothing_from_the_store_directly() {
    // the store's row types (what a table holds), read from the store's sources
    let mut rows = Vec::new();
    for (_, text) in sources(&crates().join("store").join("src")) {
        for line in text.lines() {
            if let Some(name) = line.trim().strip_prefix("pub struct ") {
                let name: String = name
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if name.ends_with("Row") || name == "Upload" {
                    rows.push(name);
                }
            }
        }
    }
    assert!(rows.iter().any(|r| r == "InteractionRow"), "{rows:?}");
    for (path, text) in sources(&crates().join("api").join("src")) {
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            assert!(
                !code.contains(".store()") && !code.contains("sqlx"),
                "{}:{}: the API reads the store directly; ask runtime",
                path.display(),
                n + 1
            );
            let words = code.split(|c: char| !(c.is_alphanumeric() || c == '_'));
            for word in words {
                assert!(
                    !rows.iter().any(|r| r == word),
                    "{}:{}: the API uses the store's row type {word}; use runtime's view",
                    path.display(),
                    n + 1
                );
            }
        }
    }
}
