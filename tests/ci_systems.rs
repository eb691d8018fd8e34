//! Jenkins, Drone, Woodpecker, Buildkite and OneDev through the real binary: every tree of
//! `fixtures/ci-systems/<system>/bad/` raises the findings its pipelines deserve (as a full scan
//! and file by file, as pre-commit runs it), `good/` raises none at the default severity; the
//! outputs are pinned; rewrites keep a Jenkinsfile's Groovy intact; bad input is a note or an
//! error entry for that file, never a crash or a finding from a half-read script.

mod common;

use std::path::Path;

use common::*;

/// (system folder, file of the bad tree, rules it must raise there). Every bad tree is trimmed
/// from public repositories (origin at the top of each file).
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
    (
        "jenkins",
        "xml-encryption/Jenkinsfile",
        &["ci-publish-long-lived-token", "ci-token-written-to-npmrc"],
    ),
    ("drone", ".drone.yml", &["ci-token-in-docker-build-arg"]),
    // The publish and the .npmrc write are in the Makefile target the step runs.
    (
        "drone",
        "dotscience/.drone.yml",
        &["ci-publish-long-lived-token", "ci-token-written-to-npmrc"],
    ),
    (
        "woodpecker",
        ".woodpecker.yml",
        &["ci-publish-long-lived-token", "ci-token-written-to-npmrc"],
    ),
    (
        "woodpecker",
        ".woodpecker/publish.yml",
        &["ci-publish-long-lived-token", "ci-token-written-to-npmrc"],
    ),
    (
        "woodpecker",
        "jigor/.woodpecker/npm.yml",
        &["ci-publish-long-lived-token"],
    ),
    // The Buildkite publish step runs in a docker-compose service whose image build gets the
    // agent's NPM_TOKEN as a build argument: reported where the fix goes.
    (
        "buildkite",
        "docker-compose.yml",
        &["compose-token-build-arg", "compose-token-runtime-env"],
    ),
    ("buildkite", "Dockerfile", &["dockerfile-token-arg"]),
    (
        "onedev",
        ".onedev-buildspec.yml",
        &["ci-publish-long-lived-token", "ci-token-written-to-npmrc"],
    ),
    (
        "onedev",
        "nexirift/.onedev-buildspec.yml",
        &["ci-token-written-to-npmrc"],
    ),
];

#[test]
fn publishing_to_the_ci_systems_own_registry_is_no_npmjs_publish() {
    // Nexirift publishes to OneDev's package registry with `@job_token@:@secret:access-token@`:
    // the secret written into ~/.npmrc is reported, the publish is not.
    let report = json(&run_in(
        &dir("onedev", "bad"),
        &[
            "-f",
            "json",
            "--fail-on",
            "never",
            "nexirift/.onedev-buildspec.yml",
        ],
    ));
    let rules = rules_at(&report, "nexirift/.onedev-buildspec.yml");
    assert_eq!(rules, vec!["ci-token-written-to-npmrc".to_string()]);
    let notes = report["findings"][0]["suggestion"]["notes"].to_string();
    assert!(
        notes.contains("@job_token@:@secret:access-token@"),
        "{notes}"
    );
}

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
        let named_run = run_in(
            &bad,
            &[
                "-f",
                "json",
                "--fail-on",
                "never",
                "--min-severity",
                "info",
                file,
            ],
        );
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
            let ci_rule = [
                "ci-token-written-to-npmrc",
                "ci-token-in-docker-build-arg",
                "npm-login-in-automation",
            ]
            .iter()
            .any(|r| f["rule"] == *r);
            if ci_rule && f["path"] == *file {
                let message = f["message"].as_str().unwrap_or("");
                assert!(message.contains(display), "{message}");
            }
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
    // A step from an implicitly loaded library (no `@Library` line): the same note.
    write(
        tmp.path(),
        "h/Jenkinsfile",
        "pipeline {\n  agent any\n  stages { stage('release') { steps { withNpmConfig { sh 'npm publish' } } } }\n}\n",
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
    assert!(
        notes.contains("h/Jenkinsfile") && notes.contains("calls `withNpmConfig`"),
        "{notes}"
    );
    // YAML that is no pipeline is a note; a Drone `kind: secret` document is not one.
    assert!(
        notes.contains("e/.onedev-buildspec.yml") && notes.contains("not a OneDev pipeline"),
        "{notes}"
    );
    assert!(!notes.contains("d/.drone.yml"), "{notes}");
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

/// Pipelines in the shape of the plugin documentation (drone-plugins/drone-npm DOCS.md,
/// woodpecker-kit/woodpecker-npm, the Buildkite docker-compose plugin's `args:`), written here
/// rather than kept as fixtures: they are not copies of one repository.
const DRONE_PLUGIN_AND_NPMRC: &str = "kind: pipeline\ntype: docker\nname: release\n\nsteps:\n  - name: publish\n    image: node:22\n    environment:\n      NPM_TOKEN:\n        from_secret: npm_token\n    commands:\n      - npm ci\n      - npm set //registry.npmjs.org/:_authToken $NPM_TOKEN\n      - npm publish\n\n  - name: npm\n    image: plugins/npm\n    settings:\n      token:\n        from_secret: npm_token\n---\nkind: signature\nhmac: 0000000000000000000000000000000000000000000000000000000000000000\n";
const WOODPECKER_PLUGIN: &str = "steps:\n  release:\n    image: sinlov/woodpecker-npm\n    settings:\n      npm-registry: https://registry.npmjs.org/\n      npm-token:\n        from_secret: npm_publish_token\n    when:\n      event: tag\n";
const BUILDKITE_COMPOSE_AND_NPMRC: &str = "steps:\n  - label: ':docker: Build'\n    plugins:\n      - docker-compose#v5.2.0:\n          build: app\n          args:\n            - NPM_TOKEN\n  - wait\n  - label: ':rocket: publish'\n    command:\n      - echo \"//registry.npmjs.org/:_authToken=$$NPM_TOKEN\" > .npmrc\n      - npm publish --access public\n    secrets:\n      - NPM_TOKEN\n";

#[test]
fn plugin_settings_and_npmrc_writes_of_drone_woodpecker_buildkite() {
    let tmp = tree();
    write(tmp.path(), "d/.drone.yaml", DRONE_PLUGIN_AND_NPMRC);
    write(tmp.path(), "w/.woodpecker.yaml", WOODPECKER_PLUGIN);
    write(
        tmp.path(),
        "b/.buildkite/pipeline.yml",
        BUILDKITE_COMPOSE_AND_NPMRC,
    );
    let report = json(&run_in(
        tmp.path(),
        &["-f", "json", "--fail-on", "never", "."],
    ));
    for (path, rules) in [
        (
            "d/.drone.yaml",
            &["ci-publish-long-lived-token", "ci-token-written-to-npmrc"][..],
        ),
        ("w/.woodpecker.yaml", &["ci-publish-long-lived-token"][..]),
        (
            "b/.buildkite/pipeline.yml",
            &[
                "ci-publish-long-lived-token",
                "ci-token-written-to-npmrc",
                "ci-token-in-docker-build-arg",
            ][..],
        ),
    ] {
        let found = rules_at(&report, path);
        for rule in rules {
            assert!(
                found.iter().any(|r| r == rule),
                "{path}: no {rule} in {found:?}"
            );
        }
    }
}

#[test]
fn drone_and_buildkite_rewrites_escape_the_dollar_the_system_would_substitute() {
    for (file, text) in [
        (".drone.yaml", DRONE_PLUGIN_AND_NPMRC),
        (".buildkite/pipeline.yml", BUILDKITE_COMPOSE_AND_NPMRC),
    ] {
        let tmp = tree();
        write(tmp.path(), file, text);
        let run = run_in(tmp.path(), &["--fix", "--unsafe-fixes", "-f", "json", file]);
        let report = json(&run);
        let fixed = std::fs::read_to_string(tmp.path().join(file)).unwrap_or_default();
        assert!(
            npm_auth_scan::parse::yaml::parse(&fixed).is_ok(),
            "{file}: {fixed}"
        );
        assert!(
            !rules_at(&report, file)
                .iter()
                .any(|r| r == "ci-token-written-to-npmrc"),
            "{file}: {fixed}"
        );
        // `${NPM_TOKEN}` would be substituted (with nothing) by the CI system itself.
        assert!(!fixed.contains("'${"), "{file}: {fixed}");
    }
    let tmp = tree();
    write(tmp.path(), ".drone.yaml", DRONE_PLUGIN_AND_NPMRC);
    run_in(tmp.path(), &["--fix", "--unsafe-fixes", "."]);
    let npmrc = std::fs::read_to_string(tmp.path().join(".drone.yaml")).unwrap_or_default();
    assert!(
        npmrc.contains("npm set //registry.npmjs.org/:_authToken '$${NPM_TOKEN}'"),
        "{npmrc}"
    );
    // The real asl-auth pipeline (Drone 0.8): its build arg becomes a BuildKit secret.
    let tmp = tree();
    copy_tree(&dir("drone", "bad"), tmp.path());
    let run = run_in(
        tmp.path(),
        &["--fix", "--unsafe-fixes", "-f", "json", ".drone.yml"],
    );
    let build = std::fs::read_to_string(tmp.path().join(".drone.yml")).unwrap_or_default();
    assert!(
        build.contains("--build-arg NPM_AUTH_USERNAME=$${NPM_AUTH_USERNAME} --secret id=npm_auth_token,env=NPM_AUTH_TOKEN"),
        "{build}"
    );
    assert!(!rules_at(&json(&run), ".drone.yml")
        .iter()
        .any(|r| r == "ci-token-in-docker-build-arg"));
}

#[test]
fn jenkins_credential_sources_the_reader_knows() {
    let tmp = tree();
    // A managed .npmrc from the Config File Provider, next to a slashy regex with a quote in it
    // and the NodeJS tool installation.
    write(
        tmp.path(),
        "managed/Jenkinsfile",
        "pipeline {\n  agent any\n  tools { nodejs 'node22' }\n  stages {\n    stage('publish') {\n      steps {\n        script {\n          def release = env.TAG_NAME ==~ /v\\d+\\.\\d+\\.\\d+/\n          def note = /it's a \"release\"/\n        }\n        configFileProvider([configFile(fileId: 'npmrc-publish', targetLocation: '.npmrc')]) {\n          sh 'npm publish'\n        }\n      }\n    }\n  }\n}\n",
    );
    // A Maven settings file from the same plugin is no npm credential.
    write(
        tmp.path(),
        "maven/Jenkinsfile",
        "node {\n  configFileProvider([configFile(fileId: 'maven-settings', variable: 'MAVEN_SETTINGS')]) {\n    sh 'mvn -s $MAVEN_SETTINGS deploy && npm publish --dry-run'\n  }\n}\n",
    );
    // Secret files: npm's user config by variable, or copied into place.
    write(
        tmp.path(),
        "userconfig/Jenkinsfile",
        "node {\n  withCredentials([file(credentialsId: 'npmrc', variable: 'NPM_CONFIG_USERCONFIG')]) {\n    sh 'npm publish'\n  }\n}\n",
    );
    write(
        tmp.path(),
        "copied/Jenkinsfile",
        "node {\n  withCredentials([file(credentialsId: 'npmrc-file', variable: 'NPMRC')]) {\n    sh 'cp \"$NPMRC\" .npmrc && npm publish'\n  }\n}\n",
    );
    // A user name and password bound for a login tool.
    write(
        tmp.path(),
        "login/Jenkinsfile",
        "node {\n  withCredentials([usernamePassword(credentialsId: 'npmjs', usernameVariable: 'NPM_USER', passwordVariable: 'NPM_PASS')]) {\n    sh 'npx npm-cli-login -u $NPM_USER -p $NPM_PASS -e ci@example.com'\n  }\n}\n",
    );
    write(
        tmp.path(),
        "dollar-slashy/Jenkinsfile",
        "def tagPattern = $/release-$$[0-9]+ don't/$\nnode {\n  withCredentials([string(credentialsId: 'npm-token', variable: 'NPM_TOKEN')]) {\n    sh 'npm publish'\n  }\n}\n",
    );
    let run = run_in(tmp.path(), &["-f", "json", "--fail-on", "never", "."]);
    let report = json(&run);
    assert_eq!(report["errors"], serde_json::json!([]), "{}", run.stdout);
    for (path, rule, source) in [
        (
            "managed/Jenkinsfile",
            "ci-publish-long-lived-token",
            "managed npmrc npmrc-publish",
        ),
        (
            "userconfig/Jenkinsfile",
            "ci-publish-long-lived-token",
            "secret file credentials 'npmrc'",
        ),
        (
            "copied/Jenkinsfile",
            "ci-publish-long-lived-token",
            "secret file credentials 'npmrc-file'",
        ),
        (
            "login/Jenkinsfile",
            "npm-login-in-automation",
            "npm-cli-login",
        ),
        (
            "dollar-slashy/Jenkinsfile",
            "ci-publish-long-lived-token",
            "credentials 'npm-token'",
        ),
    ] {
        let f = report["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["path"] == path && f["rule"] == rule)
            .unwrap_or_else(|| panic!("{path}: no {rule} in {}", run.stdout));
        let message = f["message"].as_str().unwrap_or("");
        assert!(message.contains(source), "{message}");
        if path == "managed/Jenkinsfile" {
            // `tools { nodejs 'node22' }`: Node 22's npm cannot use a stage-only token.
            let notes = f["suggestion"]["notes"].to_string();
            assert!(
                notes.contains("Node 22") && notes.contains("npm install -g npm@latest"),
                "{notes}"
            );
        }
        if rule == "npm-login-in-automation" {
            // The login advice fits Jenkins: a stage-only token bound as a credential.
            let notes = f["suggestion"]["notes"].to_string();
            assert!(
                notes.contains("jenkins-stage") && notes.contains("withCredentials"),
                "{notes}"
            );
        }
    }
    assert_eq!(rules_at(&report, "maven/Jenkinsfile"), Vec::<String>::new());
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
