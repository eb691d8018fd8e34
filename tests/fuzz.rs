//! End-to-end property test: arbitrary bytes, scanned as each known kind of file, through the
//! whole pipeline (parse, checks, suppressions, finishing, redaction, fix planning input).
//!
//! Each parser has its own no-panic property test next to it; this one checks what only the
//! assembled pipeline can break: positions and spans of findings, edits and errors stay inside
//! the file, and no credential comes out in full. The byte strategy mixes random bytes with
//! fragments of every format so that cases reach past the parsers' first line.
//! Longer campaign: `PROPTEST_CASES=200000 cargo test --release --test fuzz` (see README).

use std::path::PathBuf;

use npm_auth_scan::discover::{classify, Candidate, FileKind};
use npm_auth_scan::finding::Severity;
use npm_auth_scan::scan::{self, ScanSettings};
use npm_auth_scan::source::LineIndex;
use proptest::prelude::*;

const TOKEN: &str = "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";

const NAMES: &[&str] = &[
    ".npmrc",
    ".yarnrc",
    ".yarnrc.yml",
    "bunfig.toml",
    ".env",
    "Dockerfile",
    "docker-compose.yml",
    ".github/workflows/x.yml",
    ".gitlab-ci.yml",
    ".circleci/config.yml",
    "src/other.js",
];

/// Pieces of every format the scanner reads, so random concatenations look like real files.
const FRAGMENTS: &[&str] = &[
    "\n",
    "\r\n",
    "\r",
    "\u{feff}",
    " ",
    "\t",
    "  ",
    "=",
    ":",
    ": ",
    "\"",
    "'",
    "\\",
    "#",
    ";",
    "${NPM_TOKEN}",
    "$NPM_TOKEN",
    "${",
    "}",
    "//registry.npmjs.org/:",
    "_authToken",
    "_auth",
    "_password",
    "username",
    "always-auth",
    "npmAuthToken",
    "npmScopes:",
    "[install]",
    "[install.scopes]",
    "token = ",
    "NPM_TOKEN",
    "NODE_AUTH_TOKEN",
    TOKEN,
    "FROM node\n",
    "ARG ",
    "ENV ",
    "RUN ",
    "COPY .npmrc .\n",
    "<<EOF\n",
    "EOF\n",
    "--mount=type=secret,id=npm ",
    "echo ",
    " > .npmrc",
    " >> ~/.npmrc",
    "npm publish",
    "npm login",
    " && ",
    "services:\n  a:\n",
    "    build:\n      args:\n",
    "    environment:\n",
    "        ",
    "- ",
    "&a ",
    "*a",
    "<<: *a\n",
    "jobs:\n  p:\n    steps:\n",
    "      - run: ",
    "      - uses: actions/setup-node@v4\n",
    "permissions:\n  id-token: write\n",
    "# npm-auth-scan: ignore[hardcoded-token]\n",
    "é",
    "\u{2028}",
    "|\n",
    ">-\n",
    "{",
    "[",
    "]",
];

fn fileish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => proptest::sample::select(FRAGMENTS).prop_map(|s| s.as_bytes().to_vec()),
        1 => proptest::collection::vec(any::<u8>(), 0..8),
    ];
    proptest::collection::vec(piece, 0..60).prop_map(|p| p.concat())
}

fn settings() -> ScanSettings {
    let mut s = ScanSettings {
        min_severity: Severity::Info,
        ..ScanSettings::default()
    };
    s.checks.all_files = true;
    s
}

fn check(name: &str, bytes: &[u8]) -> Result<(), TestCaseError> {
    let path = PathBuf::from(name);
    let candidate = Candidate {
        kind: classify(&path).unwrap_or(FileKind::Other),
        display: name.to_string(),
        fs_path: path,
        named: true,
        root: 0,
    };
    let outcome = scan::scan_bytes(&candidate, bytes, &settings());
    // What the pipeline saw: the text after the BOM, lossily decoded when not UTF-8.
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = String::from_utf8_lossy(body);
    let lines = LineIndex::new(&text).line_count();
    for f in &outcome.findings {
        prop_assert!(
            f.line >= 1 && f.line <= lines,
            "{name}: line {} of {lines}",
            f.line
        );
        prop_assert!(f.end_line >= f.line && f.end_line <= lines, "{name}: {f:?}");
        prop_assert!(f.column >= 1 && f.end_column >= 1, "{name}: {f:?}");
        prop_assert!(
            f.end_line > f.line || f.end_column >= f.column,
            "{name}: ends before it starts: {f:?}"
        );
        if let Some(redacted) = &outcome.redacted {
            prop_assert!(
                f.span.start <= f.span.end && f.span.end <= redacted.len(),
                "{name}: span {:?} past {}",
                f.span,
                redacted.len()
            );
            prop_assert!(redacted.is_char_boundary(f.span.start));
            prop_assert!(redacted.is_char_boundary(f.span.end));
        }
        for shown in [&f.message, &f.snippet] {
            prop_assert!(!shown.contains(TOKEN), "{name}: token in {shown}");
        }
        if let Some(s) = &f.suggestion {
            prop_assert!(!s.diff.contains(TOKEN), "{name}: token in diff");
            let original = outcome.original.as_deref().unwrap_or("");
            let mut last_end = 0;
            let mut edits = s.edits.clone();
            edits.sort_by_key(|e| (e.span.start, e.span.end));
            for e in &edits {
                prop_assert!(e.span.start <= e.span.end && e.span.end <= original.len());
                prop_assert!(original.is_char_boundary(e.span.start));
                prop_assert!(original.is_char_boundary(e.span.end));
                prop_assert!(e.span.start >= last_end, "{name}: overlapping edits");
                prop_assert!(
                    !e.replacement.contains(TOKEN),
                    "{name}: fix writes the token"
                );
                last_end = e.span.end;
            }
        }
    }
    for e in outcome.errors.iter().chain(&outcome.notes) {
        prop_assert!(!e.message.contains(TOKEN), "{name}: token in error");
        if let Some(line) = e.line {
            prop_assert!(
                line >= 1 && line <= lines,
                "{name}: error line {line} of {lines}"
            );
        }
    }
    Ok(())
}

/// Found by the property test: a token glued to `_authToken` (no word boundary, so no secret
/// span) came out in full in the finding's snippet field.
#[test]
fn glued_token_is_scrubbed_from_the_snippet() {
    let bytes = format!("{TOKEN}\r{TOKEN}_authToken");
    for name in NAMES {
        check(name, bytes.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    }
}

proptest! {
    #[test]
    fn proptest_scan_bytes_never_panics_and_stays_in_range(bytes in fileish()) {
        for name in NAMES {
            check(name, &bytes)?;
        }
    }

    #[test]
    fn proptest_scan_text_never_panics_on_arbitrary_strings(text in "\\PC{0,300}") {
        for name in NAMES {
            let outcome = scan::scan_text(name, &text, &settings());
            for f in &outcome.findings {
                prop_assert!(f.line >= 1 && f.column >= 1);
            }
            check(name, text.as_bytes())?;
        }
    }
}
