//! Unit tests of the CI adapters and rules, through the in-memory scan (real file names decide
//! the CI system).

use crate::finding::{Confidence, Finding, Severity};
use crate::scan::{apply_replacements, scan_text, ScanSettings};

use super::{node_at_least_22_14, parse_node_version};

fn scan(path: &str, text: &str) -> Vec<Finding> {
    let settings = ScanSettings {
        min_severity: Severity::Info,
        ..ScanSettings::default()
    };
    let outcome = scan_text(path, text, &settings);
    assert!(outcome.errors.is_empty(), "{path}: {:?}", outcome.errors);
    outcome.findings
}

/// (rule, line) of every finding, in output order (line, then rule).
fn rules(path: &str, text: &str) -> Vec<(&'static str, usize)> {
    let mut found: Vec<_> = scan(path, text).iter().map(|f| (f.rule, f.line)).collect();
    found.sort_by_key(|&(rule, line)| (line, rule));
    found
}

const WF: &str = ".github/workflows/release.yml";

#[test]
fn node_versions() {
    assert_eq!(parse_node_version("18"), Some((18, None, None)));
    assert_eq!(
        parse_node_version("v20.11.1"),
        Some((20, Some(11), Some(1)))
    );
    assert_eq!(parse_node_version("22.x"), Some((22, None, None)));
    assert!(node_at_least_22_14(
        parse_node_version("22").unwrap_or((0, None, None))
    ));
    assert!(!node_at_least_22_14(
        parse_node_version("22.12.0").unwrap_or((0, None, None))
    ));
    assert!(node_at_least_22_14(
        parse_node_version("lts/*").unwrap_or((0, None, None))
    ));
    assert!(!node_at_least_22_14(
        parse_node_version("lts/iron").unwrap_or((0, None, None))
    ));
    assert_eq!(parse_node_version("${{ matrix.node }}"), None);
}

#[test]
fn job_level_permissions_replace_the_workflow_block() {
    let text = "on: push\npermissions:\n  id-token: write\njobs:\n  p:\n    runs-on: ubuntu-latest\n    permissions:\n      contents: read\n    steps:\n      - uses: actions/setup-node@v5\n        with:\n          node-version: 24\n      - run: npm publish\n";
    assert_eq!(rules(WF, text), [("trusted-publishing-misconfigured", 5)]);
}

#[test]
fn every_publish_step_of_a_job_counts_not_only_the_first() {
    // Two publish steps (a beta tag and the release), each handed the token.
    let two = "on: release\njobs:\n  p:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/setup-node@v5\n        with:\n          node-version: 24\n      - run: npm publish --tag beta\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n      - run: npm publish\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n";
    assert_eq!(rules(WF, two), [("ci-publish-long-lived-token", 11)]);
    let found = scan(WF, two);
    let edits = found[0]
        .suggestion
        .as_ref()
        .map(|s| s.edits.clone())
        .unwrap_or_default();
    let mut reps: Vec<_> = edits
        .iter()
        .map(|e| (e.span.clone(), e.replacement.clone()))
        .collect();
    reps.sort_by_key(|(span, _)| (span.start, span.end));
    let fixed = apply_replacements(two, &reps);
    assert!(
        !fixed.contains("NPM_TOKEN"),
        "the rewrite removes both tokens:\n{fixed}"
    );
    assert!(rules(WF, &fixed).is_empty(), "{fixed}");
    // Only the later step is handed the token, in a job set up for OIDC.
    let later = "on: release\npermissions:\n  id-token: write\njobs:\n  p:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/setup-node@v5\n        with:\n          node-version: 24\n      - run: npm publish --tag beta\n      - run: npm publish\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n";
    assert_eq!(rules(WF, later), [("oidc-token-still-set", 14)]);
}

#[test]
fn reusable_workflow_without_permissions_is_low_confidence() {
    let text = "on:\n  workflow_call:\njobs:\n  p:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/setup-node@v5\n        with:\n          node-version: 24\n      - run: npm publish\n";
    let found = scan(WF, text);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].confidence, Confidence::Low);
}

#[test]
fn short_lived_and_empty_tokens_are_not_flagged() {
    let text = "on: push\npermissions:\n  id-token: write\njobs:\n  p:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/setup-node@v5\n        with:\n          node-version: 24\n      - run: npm publish\n        env:\n          NODE_AUTH_TOKEN: ''\n";
    assert!(rules(WF, text).is_empty());
    let gpr = "on: push\njobs:\n  p:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm publish\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n";
    assert!(rules(WF, gpr).is_empty());
    let other = "on: push\njobs:\n  p:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm publish --registry https://npm.pkg.github.com\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n";
    // At most the info inventory (once the env-token-reference rule is in the catalogue).
    assert!(rules(WF, other)
        .iter()
        .all(|(r, _)| *r == "env-token-reference"));
}

#[test]
fn secret_inlined_in_single_quotes_is_still_a_token() {
    let text = "on: push\njobs:\n  p:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n          echo '//registry.npmjs.org/:_authToken=${{ secrets.NPM_TOKEN }}' > ~/.npmrc\n          npm publish\n";
    let found = rules(WF, text);
    assert!(
        found.contains(&("ci-token-written-to-npmrc", 7)),
        "{found:?}"
    );
    assert!(
        found.contains(&("ci-publish-long-lived-token", 7)),
        "{found:?}"
    );
}

#[test]
fn workflow_env_token_reaches_every_publishing_job() {
    let text = "on: push\nenv:\n  NPM_TOKEN: ${{ secrets.NPM_TOKEN }}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npx semantic-release\n  b:\n    runs-on: ubuntu-latest\n    steps:\n      - run: pnpm -r publish\n";
    let found = scan(WF, text);
    let publish: Vec<_> = found
        .iter()
        .filter(|f| f.rule == "ci-publish-long-lived-token")
        .collect();
    assert_eq!(publish.len(), 2, "{found:#?}");
    assert_ne!(publish[0].fingerprint, publish[1].fingerprint);
}

#[test]
fn literal_token_in_env_is_hardcoded_and_redacted() {
    let token = "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";
    let text = format!("on: push\njobs:\n  p:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm ci\n        env:\n          NODE_AUTH_TOKEN: {token}\n");
    let found = scan(WF, &text);
    let hard: Vec<_> = found
        .iter()
        .filter(|f| f.rule == "hardcoded-token")
        .collect();
    assert_eq!(
        hard.len(),
        1,
        "one report, not one from the CI check and one from the sweep"
    );
    for f in &found {
        assert!(!f.snippet.contains(token) && !f.message.contains(token));
        if let Some(s) = &f.suggestion {
            assert!(!s.diff.contains(token));
        }
    }
    let uuid = "on: push\njobs:\n  p:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm ci\n        env:\n          NPM_TOKEN: a73c9572-f1b9-8983-983d-ba3ac3cc913d\n";
    assert!(rules(WF, uuid).contains(&("hardcoded-token", 8)));
    let placeholder = "on: push\njobs:\n  p:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm ci\n        env:\n          NPM_TOKEN: dummy-token-for-tests\n";
    assert!(rules(WF, placeholder).is_empty());
}

#[test]
fn matrix_node_version_is_not_guessed() {
    let text = "on: push\npermissions:\n  id-token: write\njobs:\n  p:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n        node: [18, 24]\n    steps:\n      - uses: actions/setup-node@v5\n        with:\n          node-version: ${{ matrix.node }}\n      - run: npm publish\n";
    assert!(rules(WF, text).is_empty());
}

#[test]
fn crlf_workflows_are_rewritten_in_crlf() {
    let text = "on: push\r\njobs:\r\n  p:\r\n    runs-on: ubuntu-latest\r\n    steps:\r\n      - uses: actions/setup-node@v5\r\n        with:\r\n          node-version: 24\r\n      - run: npm publish\r\n        env:\r\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\r\n";
    let found = scan(WF, text);
    let f = found
        .iter()
        .find(|f| f.rule == "ci-publish-long-lived-token")
        .unwrap_or_else(|| panic!("{found:#?}"));
    let edits: Vec<_> = f
        .suggestion
        .iter()
        .flat_map(|s| s.edits.iter())
        .map(|e| (e.span.clone(), e.replacement.clone()))
        .collect();
    let after = apply_replacements(text, &edits);
    assert!(!after.replace("\r\n", "").contains('\n'), "{after:?}");
    assert!(after.contains("id-token: write"));
    assert!(!after.contains("NPM_TOKEN"));
    assert!(scan(WF, &after).is_empty(), "{after}");
}

#[test]
fn gitlab_extends_reference_and_default() {
    let text = r#"
default:
  image: node:24
.npm-auth:
  before_script:
    - echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > .npmrc
.publish:
  script:
    - npm publish
release:
  extends: .publish
  before_script:
    - !reference [.npm-auth, before_script]
"#;
    let found = rules(".gitlab-ci.yml", text);
    assert!(
        found.contains(&("ci-publish-long-lived-token", 6)),
        "{found:?}"
    );
    assert!(
        found.contains(&("ci-token-written-to-npmrc", 6)),
        "{found:?}"
    );
    let job_token = "publish:\n  script:\n    - echo \"//gitlab.example.com/api/v4/projects/1/packages/npm/:_authToken=${CI_JOB_TOKEN}\" > .npmrc\n    - npm publish\n";
    assert!(rules(".gitlab-ci.yml", job_token).is_empty());
}

#[test]
fn bitbucket_steps_shared_by_anchor_are_reported_once() {
    let text = r#"
definitions:
  steps:
    - step: &publish
        name: Publish
        script:
          - pipe: atlassian/npm-publish:0.3.2
            variables:
              NPM_TOKEN: $NPM_TOKEN
pipelines:
  branches:
    main:
      - step: *publish
    release:
      - step: *publish
"#;
    let found = rules("bitbucket-pipelines.yml", text);
    let n = found
        .iter()
        .filter(|(r, _)| *r == "ci-publish-long-lived-token")
        .count();
    assert!(n >= 1, "{found:?}");
    let lines: std::collections::HashSet<_> = found.iter().collect();
    assert_eq!(lines.len(), found.len(), "duplicates: {found:?}");
}

#[test]
fn azure_stages_deployments_and_macros() {
    let text = r#"
stages:
  - stage: release
    jobs:
      - deployment: publish
        environment: npm
        strategy:
          runOnce:
            deploy:
              steps:
                - bash: |
                    echo "//registry.npmjs.org/:_authToken=$(npmToken)" > .npmrc
                    npm publish
"#;
    let found = rules("azure-pipelines.yml", text);
    assert!(
        found.contains(&("ci-publish-long-lived-token", 12)),
        "{found:?}"
    );
    assert!(
        found.contains(&("ci-token-written-to-npmrc", 12)),
        "{found:?}"
    );
}

#[test]
fn travis_include_and_encrypted_key() {
    let text = r#"
language: node_js
jobs:
  include:
    - stage: release
      deploy:
        provider: npm
        api_token:
          secure: "c2VjcmV0IGJsb2IgdGhhdCBpcyBub3QgYSB0b2tlbg=="
"#;
    let found = rules(".travis.yml", text);
    assert!(
        found.contains(&("ci-publish-long-lived-token", 9)),
        "{found:?}"
    );
}

#[test]
fn publish_command_spellings() {
    for cmd in [
        "npm publish",
        "npm stage publish",
        "npx --yes semantic-release",
        "pnpm --filter @acme/a publish --no-git-checks",
        "yarn workspaces foreach -A npm publish",
        "npx lerna publish from-package --yes",
        "bun publish",
        "sudo npm publish",
        "pnpm changeset publish",
    ] {
        let text = format!(
            "publish:\n  variables:\n    NPM_TOKEN: $NPM_PUBLISH_TOKEN\n  script:\n    - {cmd}\n"
        );
        let found = rules(".gitlab-ci.yml", &text);
        assert!(
            found.contains(&("ci-publish-long-lived-token", 3)),
            "{cmd}: {found:?}"
        );
    }
    for cmd in [
        "npm publish --dry-run",
        "npx semantic-release --dry-run",
        "npm pack",
    ] {
        let text = format!(
            "publish:\n  variables:\n    NPM_TOKEN: $NPM_PUBLISH_TOKEN\n  script:\n    - {cmd}\n"
        );
        let found = rules(".gitlab-ci.yml", &text);
        assert!(
            !found
                .iter()
                .any(|(r, _)| *r == "ci-publish-long-lived-token"),
            "{cmd}: {found:?}"
        );
    }
}

#[test]
fn circleci_executor_and_self_hosted_runner() {
    let text = r#"
version: 2.1
executors:
  old:
    docker:
      - image: cimg/node:20.11
jobs:
  publish:
    executor: old
    steps:
      - run: |
          export NPM_ID_TOKEN=$(circleci run oidc get --claims '{"aud": "npm:registry.npmjs.org"}')
          npm publish
  runner:
    machine: true
    resource_class: acme/linux-runner
    steps:
      - run: |
          export NPM_ID_TOKEN=$(circleci run oidc get --claims '{"aud": "npm:registry.npmjs.org"}')
          npm publish
"#;
    let found = rules(".circleci/config.yml", text);
    assert!(
        found.contains(&("trusted-publishing-misconfigured", 6)),
        "{found:?}"
    );
    assert!(
        found.contains(&("trusted-publishing-misconfigured", 16)),
        "{found:?}"
    );
}

#[test]
fn multi_document_files_are_all_checked() {
    let text = "publish:\n  script:\n    - echo \"//registry.npmjs.org/:_authToken=$NPM_TOKEN\" > .npmrc\n---\nother:\n  script:\n    - echo \"//registry.npmjs.org/:_authToken=$NPM_TOKEN\" > .npmrc\n";
    let found = rules("ci/templates.gitlab-ci.yml", text);
    assert_eq!(
        found,
        [
            ("ci-token-written-to-npmrc", 3),
            ("ci-token-written-to-npmrc", 7)
        ]
    );
}

#[test]
fn trust_note_names_the_workflow_file_and_environment() {
    let text = "on: push\njobs:\n  p:\n    runs-on: ubuntu-latest\n    environment: npm-release\n    steps:\n      - run: npm publish\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n";
    let found = scan(".github/workflows/publish.yaml", text);
    let notes: Vec<String> = found
        .iter()
        .flat_map(|f| f.suggestion.iter().flat_map(|s| s.notes.clone()))
        .collect();
    assert!(
        notes.iter().any(|n| n.contains("npm trust github <package> --file publish.yaml --repo <owner>/<repo> --env npm-release")),
        "{notes:#?}"
    );
}

#[test]
fn release_it_publishes_unless_told_not_to() {
    let base = "publish:\n  variables:\n    NPM_TOKEN: $NPM_PUBLISH_TOKEN\n  script:\n    - ";
    let yes = rules(".gitlab-ci.yml", &format!("{base}npx release-it --ci\n"));
    assert!(yes.contains(&("ci-publish-long-lived-token", 3)), "{yes:?}");
    let no = rules(
        ".gitlab-ci.yml",
        &format!("{base}npx release-it --ci --no-npm.publish\n"),
    );
    assert!(
        !no.iter().any(|(r, _)| *r == "ci-publish-long-lived-token"),
        "{no:?}"
    );
}

#[test]
fn circleci_reusable_commands_are_expanded() {
    let text = r#"
version: 2.1
commands:
  npm-trusted-publishing:
    steps:
      - run: sudo npm install -g npm@latest
      - run: |
          echo "export NPM_ID_TOKEN=$(circleci run oidc get --claims '{\"aud\": \"npm:registry.npmjs.org\"}')" >> "$BASH_ENV"
  npm-auth:
    steps:
      - run: echo "//registry.npmjs.org/:_authToken=$NPM_TOKEN" > ~/.npmrc
jobs:
  good:
    docker:
      - image: cimg/node:22.20
    steps:
      - npm-trusted-publishing
      - run: npm publish
  legacy:
    docker:
      - image: cimg/node:24.11
    steps:
      - npm-auth
      - run: npm publish
"#;
    let found = rules(".circleci/config.yml", text);
    assert_eq!(
        found,
        [
            ("ci-publish-long-lived-token", 11),
            ("ci-token-written-to-npmrc", 11)
        ],
        "{found:?}"
    );
}

#[test]
fn repository_scripts_a_step_runs_are_analysed() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = dir.path();
    std::fs::create_dir_all(root.join("ci")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        root.join("ci/release.sh"),
        "#!/bin/sh\nnpm config set //registry.npmjs.org/:_authToken \"$NPM_TOKEN\"\nnpm publish\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let ci = root.join(".travis.yml");
    std::fs::write(
        &ci,
        "language: node_js\nscript: npm test\nafter_success: bash ci/release.sh\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let candidate = crate::discover::Candidate {
        fs_path: ci.clone(),
        display: ".travis.yml".into(),
        kind: crate::discover::FileKind::Travis,
        named: true,
        root: 0,
    };
    let text = std::fs::read(&ci).unwrap_or_default();
    let outcome = crate::scan::scan_bytes(&candidate, &text, &ScanSettings::default());
    let found: Vec<_> = outcome.findings.iter().map(|f| (f.rule, f.line)).collect();
    assert!(
        found.contains(&("ci-publish-long-lived-token", 3)),
        "{found:?}"
    );
    assert!(
        found.contains(&("ci-token-written-to-npmrc", 3)),
        "{found:?}"
    );
    for f in &outcome.findings {
        let edits = f.suggestion.as_ref().map(|s| s.edits.len()).unwrap_or(0);
        assert_eq!(edits, 0, "no edits aimed at another file's spans: {f:?}");
    }
}

#[test]
fn azure_npm_task_publishes() {
    let external = "steps:\n  - task: Npm@1\n    inputs:\n      command: publish\n      publishRegistry: useExternalRegistry\n      publishEndpoint: npmjs\n";
    assert!(rules("azure-pipelines.yml", external).contains(&("ci-publish-long-lived-token", 6)));
    let custom = "steps:\n  - task: Npm@1\n    inputs:\n      command: custom\n      customCommand: publish --access public\n      customEndpoint: npmjs\n";
    assert!(rules("azure-pipelines.yml", custom).contains(&("ci-publish-long-lived-token", 6)));
    let feed = "steps:\n  - task: Npm@1\n    inputs:\n      command: publish\n      publishRegistry: useFeed\n      publishFeed: acme/npm\n";
    assert!(rules("azure-pipelines.yml", feed).is_empty());
}

#[test]
fn old_node_images_are_moved_to_a_current_tag() {
    let text = "version: 2.1\njobs:\n  p:\n    docker:\n      - image: cimg/node:20.11\n    steps:\n      - run: |\n          export NPM_ID_TOKEN=$(circleci run oidc get --claims '{\"aud\": \"npm:registry.npmjs.org\"}')\n          npm publish\n";
    let found = scan(".circleci/config.yml", text);
    let edits: Vec<String> = found
        .iter()
        .flat_map(|f| f.suggestion.iter().flat_map(|s| s.edits.iter()))
        .map(|e| e.replacement.clone())
        .collect();
    assert_eq!(edits, ["lts"], "{found:#?}");
    let gl = "publish:\n  image: node:18-alpine\n  id_tokens:\n    NPM_ID_TOKEN:\n      aud: \"npm:registry.npmjs.org\"\n  script:\n    - npm publish\n";
    let found = scan(".gitlab-ci.yml", gl);
    let f = found
        .iter()
        .find(|f| f.rule == "trusted-publishing-misconfigured")
        .unwrap_or_else(|| panic!("{found:#?}"));
    let edits: Vec<_> = f
        .suggestion
        .iter()
        .flat_map(|s| s.edits.iter())
        .map(|e| (e.span.clone(), e.replacement.clone()))
        .collect();
    assert!(apply_replacements(gl, &edits).contains("image: node:24-alpine"));
}

#[test]
fn gitlab_templates_used_elsewhere_are_checked() {
    let text = ".npm-publish:\n  image: node:24\n  script:\n    - echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > .npmrc\n    - npm publish\n.oidc-publish:\n  script:\n    - npm publish --provenance\n";
    let found = rules("templates/npm.gitlab-ci.yml", text);
    assert!(
        found.contains(&("ci-publish-long-lived-token", 4)),
        "{found:?}"
    );
    assert!(
        !found
            .iter()
            .any(|(r, _)| *r == "trusted-publishing-misconfigured"),
        "the including job may add id_tokens: {found:?}"
    );
    let used =
        ".t:\n  script:\n    - npm publish\njob:\n  extends: .t\n  variables:\n    NPM_TOKEN: $X\n";
    let found = rules(".gitlab-ci.yml", used);
    assert_eq!(found, [("ci-publish-long-lived-token", 7)], "{found:?}");
}

#[test]
fn private_registry_from_package_json_or_npmrc_is_not_npm() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = dir.path();
    let wf_dir = root.join(".github/workflows");
    std::fs::create_dir_all(&wf_dir).unwrap_or_else(|e| panic!("{e}"));
    let wf = wf_dir.join("release.yml");
    let text = "on: push\njobs:\n  p:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm publish\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n";
    std::fs::write(&wf, text).unwrap_or_else(|e| panic!("{e}"));
    let scan_it = || {
        let candidate = crate::discover::Candidate {
            fs_path: wf.clone(),
            display: ".github/workflows/release.yml".into(),
            kind: crate::discover::FileKind::GithubWorkflow,
            named: true,
            root: 0,
        };
        crate::scan::scan_bytes(&candidate, text.as_bytes(), &ScanSettings::default())
            .findings
            .iter()
            .map(|f| f.rule)
            .collect::<Vec<_>>()
    };
    assert_eq!(scan_it(), ["ci-publish-long-lived-token"]);
    let write = |name: &str, body: &str| {
        std::fs::write(root.join(name), body).unwrap_or_else(|e| panic!("{e}"))
    };
    write("package.json", r#"{"name": "@acme/x"}"#);
    write(
        ".npmrc",
        "@acme:registry=https://artifactory.acme.example/api/npm/npm/\n",
    );
    assert!(scan_it().is_empty());
    write(".npmrc", "");
    write(
        "package.json",
        r#"{"name": "x", "publishConfig": {"registry": "https://npm.pkg.github.com"}}"#,
    );
    assert!(scan_it().is_empty());
}

#[test]
fn a_template_write_shared_by_jobs_is_one_finding() {
    let text = ".auth:\n  before_script:\n    - echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > .npmrc\na:\n  extends: .auth\n  script: [npm ci]\nb:\n  extends: .auth\n  script: [npm test]\n";
    let found = rules(".gitlab-ci.yml", text);
    assert_eq!(found, [("ci-token-written-to-npmrc", 3)], "{found:?}");
}

#[test]
fn token_from_a_step_output_is_not_an_oidc_publish() {
    let text = "on: push\njobs:\n  p:\n    runs-on: ubuntu-latest\n    steps:\n      - id: vault\n        uses: hashicorp/vault-action@v3\n      - run: npm publish\n        env:\n          NODE_AUTH_TOKEN: ${{ steps.vault.outputs.npm_token }}\n";
    assert!(rules(WF, text).is_empty());
}

#[test]
fn token_exported_through_github_env_reaches_later_steps() {
    let text = "on: push\njobs:\n  p:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo \"NODE_AUTH_TOKEN=${{ secrets.NPM_TOKEN }}\" >> \"$GITHUB_ENV\"\n      - run: npm publish\n";
    let found = rules(WF, text);
    assert!(
        found.contains(&("ci-publish-long-lived-token", 6)),
        "{found:?}"
    );
}

#[test]
fn azure_template_expressions_are_secrets() {
    let text = "parameters:\n  - name: npmToken\n    type: string\nsteps:\n  - bash: |\n      echo \"//registry.npmjs.org/:_authToken=${{ parameters.npmToken }}\" > ~/.npmrc\n      npm publish\n";
    let found = rules(".azure-pipelines/publish.yml", text);
    assert!(
        found.contains(&("ci-publish-long-lived-token", 6)),
        "{found:?}"
    );
    assert!(
        found.contains(&("ci-token-written-to-npmrc", 6)),
        "{found:?}"
    );
}

#[test]
fn yarn_berry_oidc_publish_with_a_token_in_yarnrc_yml() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = dir.path();
    std::fs::create_dir_all(root.join(".github/workflows")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        root.join(".yarnrc.yml"),
        "nodeLinker: node-modules\nnpmAuthToken: \"${NPM_TOKEN:-}\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let wf = root.join(".github/workflows/release.yml");
    let text = "on: push\npermissions:\n  id-token: write\njobs:\n  p:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/setup-node@v5\n        with:\n          node-version: 24\n      - run: yarn npm publish\n";
    std::fs::write(&wf, text).unwrap_or_else(|e| panic!("{e}"));
    let candidate = crate::discover::Candidate {
        fs_path: wf,
        display: ".github/workflows/release.yml".into(),
        kind: crate::discover::FileKind::GithubWorkflow,
        named: true,
        root: 0,
    };
    let outcome = crate::scan::scan_bytes(&candidate, text.as_bytes(), &ScanSettings::default());
    let found: Vec<_> = outcome.findings.iter().map(|f| (f.rule, f.line)).collect();
    assert_eq!(
        found,
        [("trusted-publishing-misconfigured", 11)],
        "{found:?}"
    );
    assert!(outcome.findings[0].message.contains(".yarnrc.yml (line 2)"));
}

#[test]
fn flow_style_jobs_get_no_line_edits() {
    let text = "on: push\njobs:\n  p: {runs-on: ubuntu-latest, steps: [{run: npm publish, env: {NODE_AUTH_TOKEN: '${{ secrets.NPM_TOKEN }}'}}]}\n";
    for f in scan(WF, text) {
        let edits: Vec<_> = f
            .suggestion
            .iter()
            .flat_map(|s| s.edits.iter())
            .map(|e| (e.span.clone(), e.replacement.clone()))
            .collect();
        let after = apply_replacements(text, &edits);
        assert!(
            crate::parse::yaml::parse(&after).is_ok(),
            "{}: {after}",
            f.rule
        );
    }
}
