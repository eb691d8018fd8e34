//! The bad/good examples of every rule file, and the README's rules table, kept honest.

use npm_auth_scan::finding::Severity;
use npm_auth_scan::rules::{self, ExampleKind};
use npm_auth_scan::scan::{scan_text, ScanSettings};

#[test]
fn every_example_behaves() {
    let settings = ScanSettings {
        min_severity: Severity::Info,
        ..ScanSettings::default()
    };
    for rule in rules::all() {
        for example in &rule.examples {
            let outcome = scan_text(&example.path, &example.content, &settings);
            let fired = outcome.findings.iter().any(|f| f.rule == rule.id);
            match example.kind {
                ExampleKind::Bad => assert!(
                    fired,
                    "{}: bad example {} does not raise it",
                    rule.id, example.path
                ),
                ExampleKind::Good => assert!(
                    !fired,
                    "{}: good example {} raises it",
                    rule.id, example.path
                ),
            }
        }
    }
}

#[test]
fn readme_rules_table_matches_the_rule_files() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap_or_default();
    let start = "<!-- rules-table:start -->\n";
    let end = "<!-- rules-table:end -->";
    let (Some(a), Some(b)) = (readme.find(start), readme.find(end)) else {
        panic!("README.md lacks the rules-table markers");
    };
    let current = &readme[a + start.len()..b];
    let wanted = npm_auth_scan::app::rules_markdown();
    if current != wanted {
        if std::env::var_os("UPDATE_README").is_some() {
            let updated = format!("{}{}{}", &readme[..a + start.len()], wanted, &readme[b..]);
            std::fs::write(&path, updated).unwrap_or_else(|e| panic!("{e}"));
        } else {
            panic!("README rules table is out of date; run `UPDATE_README=1 cargo test --test examples`.\nWanted:\n{wanted}");
        }
    }
}
