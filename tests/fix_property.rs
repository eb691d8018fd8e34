//! Property: every fix the engine emits either passes every invariant or is not applied.
//!
//! Random repositories (a GitHub publish workflow, sometimes reusable with a caller, a CircleCI
//! config, a Dockerfile the workflow builds) are scanned and fixed with unsafe fixes on; for
//! every file written, the fixed text must pass the per-file invariants against the original,
//! the written repository must pass the cross-file ones, and every file whose fix was rolled
//! back must be byte for byte as it was.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use npm_auth_scan::discover::{classify, FileKind};
use npm_auth_scan::fix::{self, FixMode, Overlay};
use npm_auth_scan::scan::{self, ScanSettings};
use proptest::prelude::*;

const NODES: &[&str] = &["", "18", "22", "'22.11'", "24", "lts/*"];

const STEPS: &[&str] = &[
    "      - run: npm ci\n",
    "      - run: npm install -g npm@10.8.0\n",
    "      - run: ./scripts/publish.sh\n",
    "      - run: npx semantic-release\n",
    "      - run: npm publish --provenance\n",
    "      - run: pnpm publish --no-git-checks\n",
    "      - run: echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > ~/.npmrc\n",
    "      - run: |\n          npm config set //registry.npmjs.org/:_authToken \"$NPM_TOKEN\"\n          npm publish\n",
    "      - run: docker build --build-arg NPM_TOKEN=${{ secrets.NPM_TOKEN }} -t app .\n",
    "      - uses: changesets/action@v1\n        with:\n          publish: npm run release\n",
];

const ENVS: &[&str] = &[
    "",
    "    env:\n      NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n",
    "    env:\n      NPM_TOKEN: ${{ secrets.NPM_TOKEN }}\n",
];

const PERMS: &[&str] = &[
    "",
    "permissions:\n  contents: read\n",
    "permissions:\n  contents: read\n  id-token: write\n",
];

const DOCKERFILES: &[&str] = &[
    "FROM node:22\nARG NPM_TOKEN\nWORKDIR /app\nCOPY . .\nRUN echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > .npmrc && npm ci && rm .npmrc\n",
    "FROM node:22\nARG NPM_TOKEN\nWORKDIR /app\nCOPY .npmrc package.json ./\nRUN npm ci\n",
    "FROM node:24\nWORKDIR /app\nCOPY . .\nRUN npm ci\n",
];

const CIRCLE: &[&str] = &[
    "",
    "version: 2.1\norbs:\n  node: circleci/node@5.0.2\njobs:\n  publish:\n    executor:\n      name: node/default\n      tag: '16.13'\n    steps:\n      - checkout\n      - run: echo \"//registry.npmjs.org/:_authToken=$NPM_TOKEN\" > ~/.npmrc\n      - run: npm publish\nworkflows:\n  release:\n    jobs:\n      - publish\n",
    "version: 2.1\njobs:\n  publish:\n    docker:\n      - image: cimg/node:20.11\n    steps:\n      - checkout\n      - run: |\n          echo \"export NPM_ID_TOKEN=$(circleci run oidc get --claims '{\\\"aud\\\": \\\"other\\\"}')\" >> \"$BASH_ENV\"\n      - run: npm publish\n        environment:\n          NPM_TOKEN: x\n",
];

#[derive(Debug, Clone)]
struct Repo {
    files: BTreeMap<String, String>,
}

fn repo() -> impl Strategy<Value = Repo> {
    (
        0..PERMS.len(),
        any::<bool>(),
        0..PERMS.len(),
        0..NODES.len(),
        proptest::collection::vec(0..STEPS.len(), 1..5),
        0..ENVS.len(),
        0..DOCKERFILES.len(),
        0..CIRCLE.len(),
    )
        .prop_map(|(perms, reusable, caller, node, steps, env, df, circle)| {
            let mut files = BTreeMap::new();
            let trigger = if reusable {
                "on:\n  workflow_call:\n"
            } else {
                "on:\n  push:\n    tags: ['v*']\n"
            };
            let mut wf = format!(
                "name: publish\n{trigger}{}jobs:\n  publish:\n    runs-on: ubuntu-latest\n{}    steps:\n      - uses: actions/checkout@v4\n",
                PERMS[perms], ENVS[env]
            );
            if !NODES[node].is_empty() {
                wf.push_str(&format!(
                    "      - uses: actions/setup-node@v4\n        with:\n          node-version: {}\n",
                    NODES[node]
                ));
            }
            for s in steps {
                wf.push_str(STEPS[s]);
            }
            files.insert(".github/workflows/publish.yml".to_string(), wf);
            if reusable {
                files.insert(
                    ".github/workflows/release.yml".to_string(),
                    format!(
                        "name: release\non: push\n{}jobs:\n  release:\n    uses: ./.github/workflows/publish.yml\n    secrets: inherit\n",
                        PERMS[caller]
                    ),
                );
            }
            files.insert("Dockerfile".to_string(), DOCKERFILES[df].to_string());
            files.insert(
                ".npmrc".to_string(),
                "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n".to_string(),
            );
            files.insert(
                "scripts/publish.sh".to_string(),
                "#!/bin/sh\necho \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > ~/.npmrc\nnpm publish\n".to_string(),
            );
            files.insert(
                "package.json".to_string(),
                "{\"name\": \"x\", \"version\": \"1.0.0\", \"scripts\": {\"release\": \"changeset publish\"}}\n".to_string(),
            );
            if !CIRCLE[circle].is_empty() {
                files.insert(".circleci/config.yml".to_string(), CIRCLE[circle].to_string());
            }
            Repo { files }
        })
}

fn kind_of(rel: &str) -> Option<FileKind> {
    classify(Path::new(rel))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn every_applied_fix_passes_every_invariant(r in repo()) {
        let t = tree();
        for (rel, text) in &r.files {
            write(t.path(), rel, text);
        }
        let settings = ScanSettings::default();
        let roots = vec![t.path().to_path_buf()];
        let report = scan::scan(&roots, Vec::new(), &settings);
        let (plans, mut summary) =
            fix::plan(&report, FixMode { unsafe_fixes: true }, &settings, &roots);
        fix::apply(&plans, &mut summary);
        let on_disk = |rel: &str| std::fs::read_to_string(t.path().join(rel)).unwrap_or_default();
        let mut changed: Vec<(String, FileKind, &str)> = Vec::new();
        for p in &plans {
            let before = &r.files[&p.rel];
            if let Some(why) = &p.rolled_back {
                prop_assert_eq!(&on_disk(&p.rel), before, "{} rolled back ({}) but written", p.rel, why);
                continue;
            }
            let after = on_disk(&p.rel);
            prop_assert_eq!(&after, &p.fixed);
            let kind = kind_of(&p.rel).unwrap_or(FileKind::Other);
            prop_assert_eq!(
                fix::check_file(kind, before, &after),
                Ok(()),
                "{} was written breaking an invariant:\n{}\n---\n{}", p.rel, before, after
            );
            changed.push((p.rel.clone(), kind, before.as_str()));
        }
        let written = Overlay { root: t.path().to_path_buf(), fixed: BTreeMap::new() };
        let broken = fix::check_repo(&changed, &written);
        prop_assert!(broken.is_empty(), "written repository breaks {:?}", broken);
        // Files no plan names are untouched.
        for (rel, text) in &r.files {
            if !plans.iter().any(|p| &p.rel == rel) {
                prop_assert_eq!(&on_disk(rel), text);
            }
        }
    }
}
