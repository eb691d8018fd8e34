//! Jenkins, Drone, Woodpecker, Buildkite and OneDev through the real binary: every tree of
//! `fixtures/ci-systems/<system>/bad/` raises the findings its pipelines deserve (as a full scan
//! and file by file, as pre-commit runs it), `good/` raises none at the default severity; the
//! outputs are pinned; rewrites keep a Jenkinsfile's Groovy intact; bad input is a note or an
//! error entry for that file, never a crash or a finding from a half-read script.

mod common;

use std::path::Path;

use common::*;

/// (system folder, CI file of the bad tree, rules it must raise there).
const EXPECTED: &[(&str, &str, &[&str])] = &[
    (
        "jenkins",
        "Jenkinsfile",
        &["ci-publish-long-lived-token", "ci-token-written-to-npmrc"],
    ),
    (
        "jenkins",
        "eslint-config/Jenkinsfile",
        &["ci-publish-long-lived-token"],
    ),
    (
        "jenkins",
        "release/jenkinsfile.gvy",
        &["ci-token-in-docker-build-arg"],
    ),
    ("drone", ".drone.yml", &["ci-token-in-docker-build-arg"]),
    (
        "drone",
        ".drone.yaml",
        &["ci-publish-long-lived-token", "ci-token-written-to-npmrc"],
    ),
    (
        "woodpecker",
        ".woodpecker/release.yml",
        &["ci-publish-long-lived-token", "ci-token-written-to-npmrc"],
    ),
    (
        "woodpecker",
        ".woodpecker.yaml",
        &["ci-publish-long-lived-token"],
    ),
    (
        "woodpecker",
        ".woodpecker.yml",
        &["ci-publish-long-lived-token", "ci-token-written-to-npmrc"],
    ),
    (
        "buildkite",
        ".buildkite/pipeline.yml",
        &[
            "ci-publish-long-lived-token",
            "ci-token-written-to-npmrc",
            "ci-token-in-docker-build-arg",
        ],
    ),
    (
        "onedev",
        ".onedev-buildspec.yml",
        &["ci-publish-long-lived-token", "ci-token-written-to-npmrc"],
    ),
];

const SYSTEMS: &[(&str, &str)] = &[
    ("jenkins", "Jenkins"),
    ("drone", "Drone CI"),
    ("woodpecker", "Woodpecker CI"),
    ("buildkite", "Buildkite"),
    ("onedev", "OneDev"),
];

fn dir(system: &str, kind: &str) -> std::path::PathBuf {
    fixtures().join("ci-systems").join(system).join(kind)
}

fn rules_at(report: &serde_json::Value, path: &str) -> Vec<String> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["path"] == path)
        .filter_map(|f| f["rule"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn bad_pipelines_raise_their_rules_in_a_full_scan_and_file_by_file() {
    for (system, file, rules) in EXPECTED {
        let bad = dir(system, "bad");
        let full = json(&run_in(
            &bad,
            &[
                "-f",
                "json",
                "--fail-on",
                "never",
                "--min-severity",
                "info",
                ".",
            ],
        ));
        let named_run = run_in(&bad, &["-f", "json", "--fail-on", "never", file]);
        let named = json(&named_run);
        for report in [&full, &named] {
            let found = rules_at(report, file);
            for rule in *rules {
                assert!(
                    found.iter().any(|r| r == rule),
                    "{system}/bad/{file}: no {rule} in {found:?}"
                );
            }
            assert_eq!(report["errors"], serde_json::json!([]), "{system}/{file}");
        }
        // Every publish finding names the system and gives the stage-only advice of
        // npm-auth-facts section 10 (no trusted publishing on these systems).
        let display = SYSTEMS
            .iter()
            .find(|(s, _)| s == system)
            .map(|(_, d)| *d)
            .unwrap_or("");
        for f in full["findings"].as_array().into_iter().flatten() {
            if f["rule"] == "ci-publish-long-lived-token" && f["path"] == *file {
                let message = f["message"].as_str().unwrap_or("");
                assert!(message.starts_with(display), "{message}");
                assert!(message.contains("stage-only"), "{message}");
                let notes = f["suggestion"]["notes"].to_string();
                assert!(
                    notes.contains("read-write-stage-only") && notes.contains("npm stage publish"),
                    "{notes}"
                );
                // The job's own `npm publish` becomes `npm stage publish` (unsafe: the
                // stage-only token must exist first); otherwise the advice is manual.
                match f["suggestion"]["diff"].as_str() {
                    Some(diff) => {
                        assert!(
                            diff.contains("+") && diff.contains("npm stage publish"),
                            "{diff}"
                        );
                        assert_eq!(f["suggestion"]["applicability"], "unsafe");
                    }
                    None => assert_eq!(f["suggestion"]["applicability"], "manual"),
                }
            }
        }
    }
}

#[test]
fn good_pipelines_raise_nothing_and_outputs_are_pinned() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots/ci-systems");
    settings.set_prepend_module_to_snapshot(false);
    let _guard = settings.bind_to_scope();
    for (system, _) in SYSTEMS {
        let good = dir(system, "good");
        let run = run_in(&good, &["-f", "json", "."]);
        let report = json(&run);
        assert_eq!(report["findings"], serde_json::json!([]), "{system}/good");
        assert_eq!(report["errors"], serde_json::json!([]), "{system}/good");
        assert_eq!(run.code, 0, "{system}/good");

        let bad = dir(system, "bad");
        let json_run = run_in(&bad, &["-f", "json", "--min-severity", "info", "."]);
        assert_eq!(
            json_run.code, 1,
            "{system}/bad exits 1: {}",
            json_run.stderr
        );
        let human = run_in(&bad, &["--min-severity", "info", "."]);
        let sarif = run_in(&bad, &["-f", "sarif", "."]);
        let diff = run_in(&bad, &["--diff", "--unsafe-fixes", "."]);
        for secret in secrets_in(&bad) {
            for (format, out) in [
                ("json", &json_run.stdout),
                ("human", &human.stdout),
                ("sarif", &sarif.stdout),
                ("diff", &diff.stdout),
            ] {
                assert!(
                    !out.contains(&secret),
                    "{system} {format} shows a credential"
                );
            }
        }
        insta::assert_snapshot!(format!("{system}.json"), json_run.stdout);
        insta::assert_snapshot!(format!("{system}.human"), human.stdout);
        insta::assert_snapshot!(format!("{system}.diff"), diff.stdout);
    }
}

fn copy_tree(from: &Path, to: &Path) {
    for file in files_below(from) {
        let rel = file.strip_prefix(from).unwrap_or(&file);
        let target = to.join(rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::copy(&file, &target).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn jenkins_rewrites_stay_inside_the_script_strings_and_fix_the_finding() {
    let tmp = tree();
    copy_tree(&dir("jenkins", "bad"), tmp.path());
    let before = std::fs::read_to_string(tmp.path().join("Jenkinsfile")).unwrap_or_default();
    let run = run_in(tmp.path(), &["--fix", "--unsafe-fixes", "-f", "json", "."]);
    let report = json(&run);
    // The docker build arg in a GString is rewritten to a BuildKit secret flag...
    let gvy =
        std::fs::read_to_string(tmp.path().join("release/jenkinsfile.gvy")).unwrap_or_default();
    assert!(
        gvy.contains(r#"sh(script: "docker build --secret id=token,env=TOKEN .")"#),
        "{gvy}"
    );
    assert!(npm_auth_scan::parse::groovy::tokenize(&gvy).is_ok());
    assert!(!rules_at(&report, "release/jenkinsfile.gvy")
        .iter()
        .any(|r| r == "ci-token-in-docker-build-arg"));
    // ...while the `.npmrc` placeholder, which needs quotes a single-quoted Groovy string cannot
    // hold, is left to do by hand: the Jenkinsfile changes only by the staged publish.
    let after = std::fs::read_to_string(tmp.path().join("Jenkinsfile")).unwrap_or_default();
    assert_eq!(
        before.replace("sh 'npm publish", "sh 'npm stage publish"),
        after
    );
    let again = run_in(tmp.path(), &["--fix", "--unsafe-fixes", "."]);
    let gvy_again =
        std::fs::read_to_string(tmp.path().join("release/jenkinsfile.gvy")).unwrap_or_default();
    assert_eq!(
        gvy, gvy_again,
        "a second --fix changes nothing: {}",
        again.stderr
    );
}

#[test]
fn broken_or_foreign_input_is_a_note_or_an_error_never_a_finding() {
    let tmp = tree();
    // Unbalanced quotes and braces: an error entry, no finding from the half-read script.
    write(
        tmp.path(),
        "a/Jenkinsfile",
        "pipeline {\n  environment { NPM_TOKEN = credentials('npm') }\n  stages { stage('p') { steps {\n    sh 'npm publish\n  } } }\n}\n",
    );
    write(
        tmp.path(),
        "b/Jenkinsfile",
        "node {\n  withCredentials([string(credentialsId: 'npm', variable: 'NPM_TOKEN')]) {\n    sh \"npm publish\"\n",
    );
    // A shared library the reader cannot see: a note, and the steps it can see still count.
    write(
        tmp.path(),
        "c/Jenkinsfile",
        "@Library('release-lib') _\nnode {\n  withCredentials([string(credentialsId: 'npm', variable: 'NPM_TOKEN')]) {\n    publishToNpm()\n    sh \"npm publish --tag \" + tag\n  }\n}\n",
    );
    // YAML that is not a pipeline, and binary junk under a pipeline name.
    write(
        tmp.path(),
        "d/.drone.yml",
        "kind: secret\nname: npm_token\nget:\n  path: npm\n",
    );
    write(tmp.path(), "e/.onedev-buildspec.yml", "- just\n- a list\n");
    write(
        tmp.path(),
        "f/.buildkite/pipeline.yml",
        "steps: [unclosed\n",
    );
    write(tmp.path(), "g/.woodpecker.yml", b"\x00\xff\xfe binary");
    let run = run_in(tmp.path(), &["-f", "json", "--min-severity", "info", "."]);
    let report = json(&run);
    assert_eq!(report["findings"], serde_json::json!([]), "{}", run.stdout);
    let errors: Vec<&str> = report["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["path"].as_str())
        .collect();
    for path in [
        "a/Jenkinsfile",
        "b/Jenkinsfile",
        "f/.buildkite/pipeline.yml",
    ] {
        assert!(errors.contains(&path), "{path} not in {errors:?}");
    }
    assert!(!errors.contains(&"c/Jenkinsfile"), "{errors:?}");
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("c/Jenkinsfile") && notes.contains("shared library"),
        "{notes}"
    );
    assert_eq!(run.code, 2);
}

#[test]
fn precision_short_lived_and_unrelated_credentials_are_not_npm_tokens() {
    let tmp = tree();
    // A registry password for images, a Git token, a shell variable escaped from Groovy: none
    // is an npm publish credential.
    write(
        tmp.path(),
        "Jenkinsfile",
        "pipeline {\n  agent any\n  environment {\n    DOCKER_CREDENTIALS = credentials('dockerhub')\n    GITHUB_TOKEN = credentials('GITHUB_TOKEN')\n  }\n  stages { stage('Build') { steps { sh 'echo hello world' } } }\n}\n",
    );
    write(
        tmp.path(),
        ".woodpecker.yml",
        "steps:\n  publish:\n    image: woodpeckerci/plugin-docker-buildx\n    settings:\n      repo: codeberg.org/a/b\n      password:\n        from_secret: codeberg_token\n",
    );
    write(
        tmp.path(),
        ".buildkite/pipeline.yml",
        "steps:\n  - label: test\n    command: npm ci && npm test\n    env:\n      NODE_ENV: test\n",
    );
    let report = json(&run_in(
        tmp.path(),
        &["-f", "json", "--min-severity", "info", "."],
    ));
    assert_eq!(report["findings"], serde_json::json!([]));
    assert_eq!(report["errors"], serde_json::json!([]));
}

#[test]
fn drone_and_buildkite_rewrites_escape_the_dollar_the_system_would_substitute() {
    for (system, file) in [
        ("drone", ".drone.yaml"),
        ("drone", ".drone.yml"),
        ("buildkite", ".buildkite/pipeline.yml"),
    ] {
        let tmp = tree();
        copy_tree(&dir(system, "bad"), tmp.path());
        let run = run_in(tmp.path(), &["--fix", "--unsafe-fixes", "-f", "json", file]);
        let report = json(&run);
        let text = std::fs::read_to_string(tmp.path().join(file)).unwrap_or_default();
        assert!(
            npm_auth_scan::parse::yaml::parse(&text).is_ok(),
            "{system}/{file}: {text}"
        );
        let left = rules_at(&report, file);
        for rule in ["ci-token-written-to-npmrc", "ci-token-in-docker-build-arg"] {
            let fixable = !(system == "buildkite" && rule == "ci-token-in-docker-build-arg");
            assert!(
                !fixable || !left.iter().any(|r| r == rule),
                "{system}/{file}: {rule} left after --fix: {left:?}\n{text}"
            );
        }
        // `${NPM_TOKEN}` would be substituted (with nothing) by the CI system itself.
        assert!(!text.contains("'${"), "{system}/{file}: {text}");
    }
    let tmp = tree();
    copy_tree(&dir("drone", "bad"), tmp.path());
    run_in(tmp.path(), &["--fix", "--unsafe-fixes", "."]);
    let npmrc = std::fs::read_to_string(tmp.path().join(".drone.yaml")).unwrap_or_default();
    assert!(
        npmrc.contains("npm set //registry.npmjs.org/:_authToken '$${NPM_TOKEN}'"),
        "{npmrc}"
    );
    let build = std::fs::read_to_string(tmp.path().join(".drone.yml")).unwrap_or_default();
    assert!(
        build.contains("--build-arg NPM_AUTH_USERNAME=$${NPM_AUTH_USERNAME} --secret id=npm_auth_token,env=NPM_AUTH_TOKEN"),
        "{build}"
    );
}

#[test]
fn a_scripted_pipeline_publishing_to_its_own_registry_is_no_npmjs_publish() {
    // The shape of a public scripted pipeline (flat `stage 'x'` steps inside `withCredentials`):
    // the registry is set in one stage and the publish in a later one goes there.
    let tmp = tree();
    write(
        tmp.path(),
        "Jenkinsfile",
        "node {\n  withCredentials([[$class: 'SecretText', credentialsId: 'NpmAuthToken', variable: 'NPM_TOKEN']]) {\n  stage 'Setup Registry'\n  sh 'npm config set registry https://nexus.example.com/repository/npm/'\n  sh 'npm config set //nexus.example.com/repository/npm/:_authToken=$NPM_TOKEN'\n  stage 'Publish'\n  sh 'npm publish dist'\n  }\n}\n",
    );
    let report = json(&run_in(
        tmp.path(),
        &["-f", "json", "--fail-on", "never", "."],
    ));
    let rules = rules_of(&report);
    assert!(
        !rules.iter().any(|r| r == "ci-publish-long-lived-token"),
        "{rules:?}"
    );
    // Writing the token's value into ~/.npmrc is still reported, whatever the registry.
    assert!(
        rules.iter().any(|r| r == "ci-token-written-to-npmrc"),
        "{rules:?}"
    );
    // The same pipeline publishing to npmjs.org, with the write in an earlier stage: the stages
    // share the node, so the publish uses the token written there.
    write(
        tmp.path(),
        "Jenkinsfile",
        "pipeline {\n  agent any\n  stages {\n    stage('auth') { steps { withCredentials([string(credentialsId: 'npm', variable: 'NPM_TOKEN')]) { sh 'npm config set //registry.npmjs.org/:_authToken=$NPM_TOKEN' } } }\n    stage('publish') { steps { sh 'npm publish' } }\n  }\n}\n",
    );
    let report = json(&run_in(
        tmp.path(),
        &["-f", "json", "--fail-on", "never", "."],
    ));
    assert!(
        rules_of(&report)
            .iter()
            .any(|r| r == "ci-publish-long-lived-token"),
        "{report}"
    );
}

mod never_panic {
    use npm_auth_scan::scan::{scan_text, ScanSettings};
    use proptest::prelude::*;

    /// Jenkinsfile-ish text: the words and brackets the reader looks for, in random order.
    fn groovyish() -> impl Strategy<Value = String> {
        let piece = prop::sample::select(vec![
            "pipeline",
            "stage",
            "stages",
            "steps",
            "environment",
            "withCredentials",
            "withEnv",
            "withNPM",
            "sh",
            "bat",
            "docker",
            ".",
            "build",
            "(",
            ")",
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "=",
            "+",
            "'",
            "\"",
            "'''",
            "\"\"\"",
            "${",
            "$",
            "\\",
            "\n",
            " ",
            "//",
            "/*",
            "*/",
            "@Library",
            "credentials('npm')",
            "string(credentialsId: 'n', variable: 'NPM_TOKEN')",
            "'npm publish'",
            "\"echo //registry.npmjs.org/:_authToken=${NPM_TOKEN} > .npmrc\"",
            "'docker build --build-arg NPM_TOKEN=$NPM_TOKEN .'",
            "script:",
            "NPM_TOKEN",
            "é",
            "$/",
            "/$",
        ]);
        prop::collection::vec(piece, 0..60).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn jenkins_checks_never_panic(text in groovyish()) {
            let settings = ScanSettings::default();
            let outcome = scan_text("Jenkinsfile", &text, &settings);
            for f in &outcome.findings {
                prop_assert!(f.line >= 1);
            }
        }

        #[test]
        fn yaml_ci_checks_never_panic(text in "(steps|pipeline|commands|env|secrets|from_secret|plugins|jobs|envVars|interpreter|- |: |\\$\\$|@secret:x@|npm publish|\n|  |NPM_TOKEN|'|\"|\\[|\\]|\\{|\\}|#v1){0,60}", which in 0usize..5) {
            let path = [".drone.yml", ".woodpecker.yml", ".buildkite/pipeline.yml", ".onedev-buildspec.yml", ".woodpecker/x.yml"][which];
            let settings = ScanSettings::default();
            let _ = scan_text(path, &text, &settings);
        }
    }
}
