//! Criterion benchmarks of the audit report at the scale of issue 14: 1,000 JSON reports with
//! 50 findings each (50,000 findings, every one with its own diff and notes) parsed and merged,
//! then rendered as the HTML page and as Markdown (cut at GitHub's 1 MiB).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use npm_auth_scan::report::{html, markdown, Audit};

const RULES: [(&str, &str, &str); 5] = [
    ("hardcoded-token", "critical", ".npmrc"),
    (
        "ci-publish-long-lived-token",
        "high",
        ".github/workflows/release.yml",
    ),
    ("dockerfile-token-arg", "high", "services/api/Dockerfile"),
    ("compose-token-build-arg", "high", "docker-compose.yml"),
    ("env-token-reference", "info", ".gitlab-ci.yml"),
];

/// One repository's `--format json` report with `findings` findings.
fn report(repo: usize, findings: usize) -> String {
    let items: Vec<serde_json::Value> = (0..findings)
        .map(|i| {
            let (rule, severity, file) = RULES[i % RULES.len()];
            let path = format!("packages/p{}/{file}", i / RULES.len());
            serde_json::json!({
                "rule": rule, "severity": severity, "confidence": "high",
                "path": path, "line": 3 + i, "column": 1, "end_line": 3 + i, "end_column": 40,
                "message": format!("The long-lived token `NPM_TOKEN` reaches npm here (finding {i} of repository {repo}); replace it with a granular read-only token or trusted publishing."),
                "snippet": format!("//registry.npmjs.org/:_authToken=npm_****...{:04}", i % 10_000),
                "suggestion": {
                    "title": "Read the token from the environment", "applicability": "unsafe",
                    "diff": format!("--- a/{path}\n+++ b/{path}\n@@ -1,4 +1,4 @@\n @acme:registry=https://registry.npmjs.org/\n-//registry.npmjs.org/:_authToken=npm_****...{:04}\n+//registry.npmjs.org/:_authToken=${{NPM_TOKEN}}\n always-auth=false\n", i % 10_000),
                    "notes": [
                        "npm token revoke <token-id>   # first: `npm token list` shows the id",
                        "npm token create --name=ci-install --packages-all --packages-and-scopes-permission=read-only --expires=90",
                        "npm trust github <package> --file release.yml --repo <owner>/<repo>"
                    ]
                },
                "fingerprint": format!("{repo:08x}{i:024x}")
            })
        })
        .collect();
    serde_json::json!({
        "version": 1, "tool": {"name": "npm-auth-scan", "version": "0.1.0"},
        "findings": items, "errors": [],
        "summary": {"files_scanned": 200, "findings": findings, "suppressed": 0,
                    "by_severity": {"info": 0, "low": 0, "medium": 0, "high": 0, "critical": 0}},
        "repository": {"name": format!("acme/service-{repo:04}"),
                       "url": format!("https://github.com/acme/service-{repo:04}"),
                       "commit": "0123456789abcdef0123456789abcdef01234567"}
    })
    .to_string()
}

fn bench_report(c: &mut Criterion) {
    let inputs: Vec<String> = (0..1000).map(|r| report(r, 50)).collect();
    let merge = || {
        let mut audit = Audit::default();
        for (i, text) in inputs.iter().enumerate() {
            if let Err(e) = audit.add_json(&format!("r{i}"), text) {
                panic!("{e}");
            }
        }
        audit
    };
    let audit = merge();
    let mut g = c.benchmark_group("report 1000 repositories x 50 findings");
    g.sample_size(10);
    g.bench_function("merge JSON", |b| b.iter(|| black_box(merge())));
    g.bench_function("html", |b| b.iter(|| black_box(html::render(&audit)).len()));
    g.bench_function("markdown 1 MiB", |b| {
        b.iter(|| black_box(markdown::render(&audit, markdown::STEP_SUMMARY_LIMIT)).len())
    });
    g.bench_function("merge + html", |b| {
        b.iter(|| black_box(html::render(&merge())).len())
    });
    g.finish();
}

criterion_group!(benches, bench_report);
criterion_main!(benches);
