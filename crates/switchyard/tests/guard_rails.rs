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
    for krate in ["runtime", "api"] {
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
