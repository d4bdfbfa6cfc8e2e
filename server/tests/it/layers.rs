//! The server's layers point one way (README, Layout): a module names only the modules
//! below it, and the domain code never the UI crate. The compiler allows any `crate::`
//! path, so this reads the sources and fails on the first import that points up.

use std::path::{Path, PathBuf};

/// Top to bottom; each may use only the modules after it.
const LAYERS: [&str; 8] = [
    "commands",
    "static_site",
    "web",
    "drill",
    "orchestrator",
    "pipeline",
    "warehouse",
    "generate",
];

/// The modules that render pages and so may use the dashboard crate (`app::`).
const UI: [&str; 3] = ["commands", "static_site", "web"];

fn sources(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for e in entries {
            sources(&e, out);
        }
    } else if path.is_file() && path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

/// Every `crate::<module>` a file names (in code or in doc links alike: both are a dependency a
/// reader must follow).
fn named_modules(text: &str) -> Vec<String> {
    text.match_indices("crate::")
        .map(|(i, m)| {
            text[i + m.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn each_server_layer_names_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut checked = 0;
    let mut wrong = Vec::new();
    for (level, layer) in LAYERS.iter().enumerate() {
        let mut files = Vec::new();
        sources(&src.join(layer), &mut files);
        sources(&src.join(format!("{layer}.rs")), &mut files);
        assert!(!files.is_empty(), "no sources for the layer {layer}");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            checked += 1;
            for module in named_modules(&text) {
                let above = LAYERS[..level].contains(&module.as_str());
                if above {
                    wrong.push(format!("{} names crate::{module}", file.display()));
                }
            }
            let ui = text.contains("use app::") || text.contains(" app::");
            if ui && !UI.contains(layer) {
                wrong.push(format!("{} imports the dashboard crate", file.display()));
            }
        }
    }
    assert!(checked > 50, "only {checked} files read");
    assert!(
        wrong.is_empty(),
        "imports pointing up:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_check_sees_an_import_that_points_up() {
    let text = "use crate::warehouse::Location;\n/// See [`crate::web::router`].\n";
    assert_eq!(named_modules(text), ["warehouse", "web"]);
}
