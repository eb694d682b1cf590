//! The browser UI's typed API client (`ui/src/api/schema.d.ts`) is the one generated from the
//! server's OpenAPI document as it is now: the UI cannot drift from the server.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_switchyard");

#[test]
fn the_ui_client_is_generated_from_the_servers_document() {
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui");
    let generator = ui.join("node_modules/openapi-typescript/bin/cli.js");
    assert!(
        generator.exists(),
        "the UI's packages are not installed: run scripts/ui-build.sh (the test command does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN).arg("openapi").output().unwrap();
    assert!(out.status.success());
    let document = dir.path().join("openapi.json");
    std::fs::write(&document, &out.stdout).unwrap();
    let generated = dir.path().join("schema.d.ts");
    let run = Command::new("node")
        .arg(&generator)
        .arg(&document)
        .arg("-o")
        .arg(&generated)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let committed = std::fs::read_to_string(ui.join("src/api/schema.d.ts")).unwrap();
    assert!(
        std::fs::read_to_string(&generated).unwrap() == committed,
        "ui/src/api/schema.d.ts is not the client of the server's document: run scripts/ui-generate.sh and commit it"
    );
}
