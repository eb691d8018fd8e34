//! Criterion benchmarks: path classification, the literal-token sweep, whole scans (walk +
//! classification + checks) of a generated tree, or of the tree named by
//! `NPM_AUTH_SCAN_BENCH_TREE` (e.g. the one `../shared/bench/real-tree.sh` builds), and the cost
//! of planning `--fix --unsafe-fixes` (re-scan and invariants) over the fixture trees.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use npm_auth_scan::discover::{classify, WalkOptions};
use npm_auth_scan::fix::{self, FixMode, Overlay};
use npm_auth_scan::scan::{scan, scan_text, ScanSettings};
use npm_auth_scan::token::find_npm_tokens;

const TOKEN: &str = "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";

fn paths() -> Vec<PathBuf> {
    let names = [
        "src/index.ts",
        "README.md",
        "package.json",
        ".npmrc",
        "Dockerfile",
        "docker-compose.yml",
        ".github/workflows/release.yml",
        "lib/util/strings.js",
        ".env.production",
        "test/a.spec.ts",
    ];
    (0..1000)
        .flat_map(|i| {
            names
                .iter()
                .map(move |n| PathBuf::from(format!("pkg{i}/{n}")))
        })
        .collect()
}

fn bench_classify(c: &mut Criterion) {
    let paths = paths();
    let mut g = c.benchmark_group("classify");
    g.throughput(Throughput::Elements(paths.len() as u64));
    g.bench_function("10k paths", |b| {
        b.iter(|| {
            paths
                .iter()
                .filter(|p| classify(black_box(p)).is_some())
                .count()
        })
    });
    g.finish();
}

fn bench_sweep(c: &mut Criterion) {
    let mut text = String::new();
    while text.len() < 8 * 1024 * 1024 {
        text.push_str(
            "const value = computeSomething(argument, other_argument); // npm_ comment\n",
        );
    }
    text.push_str(TOKEN);
    let mut g = c.benchmark_group("token sweep");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("8 MiB of code", |b| {
        b.iter(|| find_npm_tokens(black_box(text.as_bytes())).len())
    });
    g.finish();
}

fn bench_parse_and_check(c: &mut Criterion) {
    let npmrc = format!(
        "registry=https://registry.npmjs.org/\n@acme:registry=https://npm.pkg.github.com\n//registry.npmjs.org/:_authToken={TOKEN}\nalways-auth=true\n"
    )
    .repeat(50);
    let settings = ScanSettings::default();
    c.bench_function("check .npmrc (200 lines)", |b| {
        b.iter(|| {
            scan_text(".npmrc", black_box(&npmrc), &settings)
                .findings
                .len()
        })
    });
    // A declarative pipeline with 40 stages, each with credentials, a script and a build.
    let stage = "        stage('publish') {\n            environment { NPM_TOKEN = credentials('npm') }\n            steps {\n                withCredentials([string(credentialsId: 'npm', variable: 'TOKEN')]) {\n                    sh '''\n                        echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > .npmrc\n                        npm publish\n                    '''\n                    sh(script: \"docker build --build-arg TOKEN=${env.TOKEN} .\")\n                }\n            }\n        }\n";
    let jenkinsfile = format!(
        "pipeline {{\n    agent any\n    stages {{\n{}    }}\n}}\n",
        stage.repeat(40)
    );
    c.bench_function("check Jenkinsfile (40 stages)", |b| {
        b.iter(|| {
            scan_text("Jenkinsfile", black_box(&jenkinsfile), &settings)
                .findings
                .len()
        })
    });
}

/// A tree of `n` folders, each with a few sources and one config file of a known kind.
fn generated_tree(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for i in 0..n {
        let d = dir.path().join(format!("pkg{i}/src"));
        std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
        for f in ["index.js", "util.js", "types.d.ts"] {
            std::fs::write(d.join(f), "module.exports = function () { return 42; };\n")
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let config = if i % 10 == 0 {
            format!("//registry.npmjs.org/:_authToken={TOKEN}\n")
        } else {
            "registry=https://registry.npmjs.org/\n".to_string()
        };
        std::fs::write(dir.path().join(format!("pkg{i}/.npmrc")), config)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    dir
}

fn bench_scan(c: &mut Criterion) {
    let generated;
    let root: PathBuf = match std::env::var_os("NPM_AUTH_SCAN_BENCH_TREE") {
        Some(p) => PathBuf::from(p),
        None => {
            generated = generated_tree(2000);
            generated.path().to_path_buf()
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut g = c.benchmark_group("scan");
    g.sample_size(10);
    for all_files in [false, true] {
        let settings = ScanSettings {
            walk: WalkOptions {
                no_ignore: true,
                all_files,
                excludes: Vec::new(),
                threads,
            },
            ..ScanSettings::default()
        };
        let name = if all_files {
            "tree, default (every file swept)"
        } else {
            "tree, --known-kinds-only"
        };
        g.bench_function(name, |b| {
            b.iter(|| scan(&[Path::new(&root).to_path_buf()], Vec::new(), &settings).files_scanned)
        });
    }
    g.finish();
}

/// Every fixture tree with something to fix (`fixtures/<rule>/bad/`, `fixtures/fix-safety/*/`),
/// copied into a folder of its own with a `.git`, so each is its own repository.
fn fixture_repos() -> (tempfile::TempDir, Vec<PathBuf>) {
    fn copy(from: &Path, to: &Path) {
        for e in std::fs::read_dir(from).into_iter().flatten().flatten() {
            let (src, dest) = (e.path(), to.join(e.file_name()));
            if src.is_dir() {
                std::fs::create_dir_all(&dest).unwrap_or_else(|e| panic!("{e}"));
                copy(&src, &dest);
            } else {
                std::fs::copy(&src, &dest).unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut trees: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bad"))
        .filter(|p| p.is_dir())
        .collect();
    trees.extend(
        std::fs::read_dir(fixtures.join("fix-safety"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir()),
    );
    trees.sort();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut roots = Vec::new();
    for (i, t) in trees.iter().enumerate() {
        let root = dir.path().join(format!("repo{i}"));
        std::fs::create_dir_all(root.join(".git")).unwrap_or_else(|e| panic!("{e}"));
        copy(t, &root);
        roots.push(root);
    }
    (dir, roots)
}

fn bench_fix(c: &mut Criterion) {
    let (_keep, roots) = fixture_repos();
    let settings = ScanSettings::default();
    let mode = FixMode { unsafe_fixes: true };
    let report = scan(&roots, Vec::new(), &settings);
    let (plans, _) = fix::plan(&report, mode, &settings, &roots);
    let mut g = c.benchmark_group(format!(
        "fix ({} fixture repositories, {} files planned)",
        roots.len(),
        plans.len()
    ));
    g.sample_size(10);
    g.bench_function("scan only", |b| {
        b.iter(|| {
            scan(black_box(&roots), Vec::new(), &settings)
                .findings
                .len()
        })
    });
    g.bench_function("scan + plan (re-scan and invariants)", |b| {
        b.iter(|| {
            let report = scan(black_box(&roots), Vec::new(), &settings);
            fix::plan(&report, mode, &settings, &roots).0.len()
        })
    });
    // The invariants alone, on the planned texts: per file, then across files per repository.
    g.bench_function("invariants only", |b| {
        b.iter(|| {
            let mut broken = 0;
            for p in &plans {
                let original = report.originals.get(&p.path).map(|t| &**t).unwrap_or("");
                broken += usize::from(fix::check_file(p.kind, original, &p.fixed).is_err());
                let overlay = Overlay {
                    root: p.repo.clone(),
                    fixed: [(p.rel.clone(), p.fixed.as_str())].into_iter().collect(),
                };
                broken += fix::check_repo(&[(p.rel.clone(), p.kind, original)], &overlay).len();
            }
            broken
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_classify,
    bench_sweep,
    bench_parse_and_check,
    bench_scan,
    bench_fix
);
criterion_main!(benches);
