//! `--history`: npm credentials anywhere in a repository's git history.
//!
//! Objects are read in-process with `gix`, no `git` subprocess. Three passes per repository:
//!
//! 1. the commits reachable from the chosen tips (every ref by default), oldest first;
//! 2. their trees, each tree id decoded once, which records for every blob the first commit and
//!    path it appeared under (and the first path of a known file kind, if any);
//! 3. every recorded blob, read and checked once: each pack decoded whole in its own order on
//!    the rayon pool's threads, a blob checked on the thread that decoded it and dropped right
//!    after; loose objects and what a pack could not give are then looked up one by one.
//!
//! Memory is bounded whatever the size of the history (see `packs`): the packs are read
//! through mappings whose resident pages are handed back as the reading goes on, and the
//! tables kept are per blob, never per blob version's bytes.
//!
//! Only credentials are reported from history (`hardcoded-token`, `basic-auth-credential`):
//! the shape of a CI job as it was years ago is no finding today. The same credential found in
//! several blobs is one finding (the earliest commit) with the others as `related`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use gix::bstr::{BStr, BString, ByteSlice, ByteVec};
// Tables keyed by object id hash the id's own leading bytes (it is already a hash).
use gix::hashtable::{HashMap as IdMap, HashSet as IdSet};
use gix::objs::Find;
use gix::ObjectId;
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use rayon::prelude::*;
use serde::Serialize;

use crate::discover::{self, Candidate, FileError, FileKind};
use crate::finding::{Applicability, Finding, Related, RenderedSuggestion};
use crate::scan::{self, Report, ScanSettings};

mod packs;

/// The rules a history scan reports: credentials only.
pub const HISTORY_RULES: [&str; 2] = ["hardcoded-token", "basic-auth-credential"];

/// How much of a blob's start tells a binary (a NUL byte), as in a working-tree scan.
const BINARY_PROBE: usize = 8 * 1024;

/// Delta-base cache of each object handle (one per thread).
const PACK_CACHE_BYTES: usize = 24 * 1024 * 1024;

/// What to scan of each repository's history.
#[derive(Debug, Clone, Default)]
pub struct HistoryOptions {
    /// `--since DATE`: only commits committed at or after this time (seconds since the epoch).
    pub since: Option<i64>,
    /// `--range A..B` (or a single revision `B`): the commits reachable from B and not from A.
    pub range: Option<String>,
    /// `--branch REF` (repeatable): only commits reachable from these.
    pub branches: Vec<String>,
    /// `--exclude` globs, matched against paths in the repository.
    pub excludes: Vec<String>,
    /// `--no-ignore`: also scan blobs under `node_modules/`.
    pub no_ignore: bool,
}

/// Where a history finding came from: JSON `findings[].commit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitInfo {
    /// Full hex id of the commit that first introduced the blob at this path.
    pub id: String,
    /// Author name of that commit.
    pub author: String,
    /// Author date, ISO 8601 with the author's offset.
    pub date: String,
    /// Whether the credential is still in the tree of HEAD.
    pub in_head: bool,
}

impl CommitInfo {
    pub fn short_id(&self) -> &str {
        self.id.get(..7).unwrap_or(&self.id)
    }

    /// The human line: "committed in abc1234 by NAME on DATE, removed since" / "still present".
    pub fn describe(&self) -> String {
        format!(
            "committed in {} by {} on {}, {}",
            self.short_id(),
            self.author,
            self.date.get(..10).unwrap_or(&self.date),
            if self.in_head {
                "still present"
            } else {
                "removed since"
            }
        )
    }
}

/// One scanned repository, for SARIF `versionControlProvenance`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// The `origin` remote's URL with any user and password removed, else a `file://` URL of
    /// the repository.
    pub uri: String,
    /// HEAD's commit id, when HEAD is born.
    pub revision: Option<String>,
    /// HEAD's branch name, when HEAD is on a branch.
    pub branch: Option<String>,
}

/// A commit of pass 1, with what a finding needs of it.
struct CommitMeta {
    id: ObjectId,
    author: String,
    date: String,
    /// Author time, for ordering related occurrences.
    time: i64,
}

/// Where a blob was first seen.
#[derive(Clone)]
struct Site {
    path: String,
    commit: u32,
}

/// A blob of pass 2: the first place it appeared, and the first place with a known file kind.
struct BlobSites {
    first: Site,
    known: Option<(Site, FileKind)>,
}

/// Scans the history of the repository at or around each of `roots`.
pub fn scan_history(
    roots: &[PathBuf],
    options: &HistoryOptions,
    settings: &ScanSettings,
) -> Report {
    let mut report = Report {
        roots: scan::root_summaries(roots),
        ..Report::default()
    };
    for (index, root) in roots.iter().enumerate() {
        let display = discover::display_path(root);
        match scan_repository(root, index, options, settings) {
            Ok(repo) => {
                if let Some(summary) = report.roots.get_mut(index) {
                    summary.files_scanned = repo.blobs_scanned;
                    summary.findings = repo.findings.len();
                }
                report.files_scanned += repo.blobs_scanned;
                report.suppressed += repo.suppressed;
                report.findings.extend(repo.findings);
                report.errors.extend(repo.errors);
                report.notes.extend(repo.notes);
                report.sources.extend(repo.sources);
                report.provenance.push(repo.provenance);
            }
            Err(message) => report.errors.push(FileError {
                path: display,
                line: None,
                message,
            }),
        }
    }
    report.sort();
    report
}

/// What one repository's history gave.
#[derive(Default)]
struct RepoOutcome {
    findings: Vec<Finding>,
    errors: Vec<FileError>,
    notes: Vec<FileError>,
    sources: std::collections::BTreeMap<String, Arc<str>>,
    blobs_scanned: usize,
    suppressed: usize,
    provenance: Provenance,
}

fn scan_repository(
    root: &Path,
    root_index: usize,
    options: &HistoryOptions,
    settings: &ScanSettings,
) -> Result<RepoOutcome, String> {
    let root_display = discover::display_path(root);
    let mut repo = gix::discover(root)
        .map_err(|e| format!("--history needs a git repository: {}", one_line(&e)))?;
    set_pack_cache(&mut repo);
    let mut out = RepoOutcome {
        provenance: provenance(&repo),
        ..RepoOutcome::default()
    };
    let note = |out: &mut RepoOutcome, message: String| {
        out.notes.push(FileError {
            path: root_display.clone(),
            line: None,
            message,
        })
    };
    // A PATH inside the work tree limits the scan to blobs under it, shown under the PATH as
    // typed (like a working-tree scan of a subfolder).
    let prefix = subfolder_prefix(&repo, root);
    if repo.is_shallow().unwrap_or(false) {
        note(
            &mut out,
            "shallow clone: commits before the shallow boundary are not in this repository; \
             their blobs are not scanned"
                .to_string(),
        );
    }
    let commits = collect_commits(&repo, options, &mut out, &note)?;
    let exclude = build_excludes(options);
    let (metas, blobs) = collect_blobs(
        &repo,
        &commits,
        TREE_PASS_PART,
        &prefix,
        &exclude,
        &root_display,
        &mut out,
    );
    let head_blobs = head_blobs(&repo, &prefix);
    // The trees are read: their delta-base cache is of no use to the pack walks.
    repo.objects.unset_pack_cache();

    let mut blobs: Vec<(ObjectId, BlobSites)> = blobs.into_iter().collect();
    // Sorted ids: looked up by binary search as the packs are decoded, and a stable order for
    // the output of the parallel passes.
    blobs.sort_unstable_by_key(|b| b.0);
    let ids: Vec<ObjectId> = blobs.iter().map(|b| b.0).collect();
    let done: Vec<AtomicBool> = ids.iter().map(|_| AtomicBool::new(false)).collect();
    let shown_under = |path: &str| join_display(&root_display, path, &prefix);
    let tally = Tally::default();
    let check = |at: usize, data: &[u8]| {
        if let Some((id, sites)) = blobs.get(at) {
            tally.add(check_blob(
                id,
                sites,
                data,
                root_index,
                &shown_under,
                settings,
            ));
        }
    };
    let hash = repo.object_hash();
    let threads = rayon::current_num_threads();
    let indices = packs::pack_indices(&repo);
    let partial_clone = is_partial_clone(&repo);
    let objects_dir = repo.objects.store_ref().path().to_path_buf();
    // The walks map each pack anew: the tree pass's mapping of the same files, whose pages
    // count as resident a second time, goes first.
    drop(repo);
    for idx in indices {
        if let Err(e) = packs::walk_pack(&idx, hash, threads, &ids, &done, &check) {
            // Its blobs are read one by one below, where what cannot be read is reported.
            note(
                &mut out,
                format!(
                    "pack {} could not be decoded whole ({}): its blobs are read one by one",
                    idx.file_name()
                        .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                    one_line(&e)
                ),
            );
        }
    }
    // Loose objects, and whatever the pack walks did not deliver.
    let rest: Vec<usize> = (0..blobs.len())
        .filter(|&at| !done[at].load(Ordering::Relaxed))
        .collect();
    if !rest.is_empty() {
        let store = gix::odb::at(&objects_dir, hash)
            .map_err(|e| format!("cannot open the object database: {}", one_line(&e)))?
            .store();
        rest.par_iter().for_each_init(
            || {
                let mut odb = store.to_cache_arc();
                odb.set_pack_cache(|| {
                    Box::new(gix::odb::pack::cache::lru::MemoryCappedHashmap::new(
                        PACK_CACHE_BYTES,
                    ))
                });
                (odb, Vec::new())
            },
            |(odb, buf), &at| {
                let Some((id, sites)) = blobs.get(at) else {
                    return;
                };
                match odb.try_find(id, buf) {
                    Ok(Some(data)) if data.kind == gix::object::Kind::Blob => check(at, data.data),
                    Ok(Some(_)) => tally.add(BlobScan::Unreadable {
                        path: sites.first.path.clone(),
                        message: format!(
                            "object {} is no blob: not scanned",
                            id.to_hex_with_len(12)
                        ),
                    }),
                    Ok(None) => tally.add(BlobScan::Missing {
                        path: sites.first.path.clone(),
                    }),
                    Err(e) => tally.add(BlobScan::Unreadable {
                        path: sites.first.path.clone(),
                        message: format!(
                            "blob {} cannot be read: {}",
                            id.to_hex_with_len(12),
                            one_line(&e)
                        ),
                    }),
                }
            },
        );
    }
    drop(done);

    let Tally { scanned, kept } = tally;
    out.blobs_scanned = scanned.into_inner();
    let mut kept = kept.into_inner().unwrap_or_else(|e| e.into_inner());
    // The threads finish in any order: the output does not depend on it.
    kept.sort_by_key(|b| b.order_key());
    let mut unparsed = 0usize;
    let mut missing: Vec<String> = Vec::new();
    let mut occurrences: Vec<Occurrence> = Vec::new();
    for blob in kept {
        match blob {
            BlobScan::Unreadable { path, message } => out.errors.push(FileError {
                path: shown_under(&path),
                line: None,
                message,
            }),
            BlobScan::Missing { path } => missing.push(path),
            BlobScan::Done {
                id,
                commit,
                findings,
                source,
                suppressed,
                parse_failed,
            } => {
                out.suppressed += suppressed;
                unparsed += usize::from(parse_failed);
                for finding in findings {
                    occurrences.push(Occurrence {
                        finding,
                        commit,
                        blob: id,
                        source: source.clone(),
                    });
                }
            }
        }
    }
    if let Some(first) = missing.first() {
        let count = missing.len();
        let s = if count == 1 { "" } else { "s" };
        let first = shown_under(first);
        let message = if partial_clone {
            format!(
                "{count} blob{s} left out of this partial clone (first: {first}): not scanned; \
                 a full clone has them"
            )
        } else {
            format!(
                "{count} blob{s} missing from the object database (first: {first}): not scanned; \
                 `git fsck` names what the repository lacks"
            )
        };
        note(&mut out, message);
    }
    if unparsed > 0 {
        note(
            &mut out,
            format!(
                "{unparsed} past version{} of configuration files could not be parsed: only swept for literal tokens",
                if unparsed == 1 { "" } else { "s" }
            ),
        );
    }
    group(occurrences, &metas, &head_blobs, &mut out);
    Ok(out)
}

/// The tips of the walk and the commits to hide, from `--range`, `--branch` or every ref.
fn tips(
    repo: &gix::Repository,
    options: &HistoryOptions,
) -> Result<(Vec<ObjectId>, Vec<ObjectId>), String> {
    let resolve = |spec: &str, flag: &str| -> Result<ObjectId, String> {
        let id = repo
            .rev_parse_single(spec)
            .map_err(|e| format!("{flag}: `{spec}` is not a revision here: {}", one_line(&e)))?;
        let object = id
            .object()
            .map_err(|e| format!("{flag}: `{spec}`: {}", one_line(&e)))?;
        object
            .peel_to_commit()
            .map(|c| c.id)
            .map_err(|e| format!("{flag}: `{spec}` names no commit: {}", one_line(&e)))
    };
    let mut tips = Vec::new();
    let mut hidden = Vec::new();
    if let Some(range) = &options.range {
        match range.split_once("..") {
            Some((from, to)) => {
                let to = to.strip_prefix('.').unwrap_or(to);
                tips.push(resolve(if to.is_empty() { "HEAD" } else { to }, "--range")?);
                if !from.is_empty() {
                    hidden.push(resolve(from, "--range")?);
                }
            }
            None => tips.push(resolve(range, "--range")?),
        }
    }
    for branch in &options.branches {
        tips.push(resolve(branch, "--branch")?);
    }
    if options.range.is_none() && options.branches.is_empty() {
        let refs = repo
            .references()
            .map_err(|e| format!("cannot read refs: {}", one_line(&e)))?;
        let all = refs
            .all()
            .map_err(|e| format!("cannot read refs: {}", one_line(&e)))?;
        for reference in all.flatten() {
            let mut reference = reference;
            let Ok(id) = reference.peel_to_id() else {
                continue;
            };
            // Tags may point at trees or blobs; only commits start a walk.
            if let Ok(object) = id.object() {
                if let Ok(commit) = object.peel_to_commit() {
                    tips.push(commit.id);
                }
            }
        }
        // A detached HEAD is no ref of `all()`.
        if let Ok(head) = repo.head_id() {
            tips.push(head.detach());
        }
    }
    tips.sort_unstable();
    tips.dedup();
    Ok((tips, hidden))
}

/// Pass 1: the commits to scan, oldest first (by committer time, as `git log --since` reads).
fn collect_commits(
    repo: &gix::Repository,
    options: &HistoryOptions,
    out: &mut RepoOutcome,
    note: &impl Fn(&mut RepoOutcome, String),
) -> Result<Vec<(ObjectId, i64)>, String> {
    let (tips, hidden) = tips(repo, options)?;
    if tips.is_empty() {
        return Ok(Vec::new());
    }
    // Commit-time order is what fills in each commit's time; with --since it also prunes.
    let order = gix::traverse::commit::simple::CommitTimeOrder::NewestFirst;
    let sorting = match options.since {
        Some(seconds) => gix::revision::walk::Sorting::ByCommitTimeCutoff { order, seconds },
        None => gix::revision::walk::Sorting::ByCommitTime(order),
    };
    let walk = repo
        .rev_walk(tips)
        .sorting(sorting)
        .with_hidden(hidden)
        .all()
        .map_err(|e| format!("cannot walk the history: {}", one_line(&e)))?;
    let mut commits = Vec::new();
    for info in walk {
        match info {
            Ok(info) => {
                let time = info.commit_time.unwrap_or_default();
                if options.since.is_none_or(|since| time >= since) {
                    commits.push((info.id, time));
                }
            }
            Err(e) => {
                note(
                    out,
                    format!(
                        "the history walk stopped early (missing or corrupt commit): {}; \
                         the commits read so far are scanned",
                        one_line(&e)
                    ),
                );
                break;
            }
        }
    }
    // Parents before children, so a blob is attributed to the commit that introduced it.
    commits.reverse();
    commits.sort_by_key(|(_, time)| *time);
    Ok(commits)
}

/// Which paths of the history are not scanned: `--exclude` globs, and `node_modules/` unless
/// `--no-ignore` (as in a working-tree scan).
struct Excludes {
    globs: Option<Gitignore>,
    node_modules: bool,
}

impl Excludes {
    fn excludes(&self, name: &BStr, path: &BStr, is_dir: bool) -> bool {
        (self.node_modules && is_dir && name == "node_modules")
            || self.globs.as_ref().is_some_and(|g| {
                g.matched_path_or_any_parents(path.to_str_lossy().as_ref(), is_dir)
                    .is_ignore()
            })
    }
}

fn build_excludes(options: &HistoryOptions) -> Excludes {
    let globs = (!options.excludes.is_empty()).then(|| {
        let mut b = GitignoreBuilder::new("");
        for g in &options.excludes {
            let _ = b.add_line(None, g);
        }
        b.build().unwrap_or_else(|_| Gitignore::empty())
    });
    Excludes {
        globs,
        node_modules: !options.no_ignore,
    }
}

/// Commits per part of the tree pass: the parts run in parallel, each walking its commits'
/// trees from scratch (a part re-reads the full tree of its first commit), so a part is long.
/// The parts depend on the number of commits only, never on the machine's threads: the sites
/// recorded, and so the report, are the same everywhere.
const TREE_PASS_PART: usize = 4096;

/// At most this many parts: past it the re-read first trees cost more than the threads gain.
const TREE_PASS_PARTS: usize = 8;

/// What one part of the tree pass found.
#[derive(Default)]
struct TreePart {
    metas: Vec<CommitMeta>,
    blobs: IdMap<ObjectId, BlobSites>,
    unreadable_commits: usize,
    /// Trees missing, corrupt or not trees: a set, since parts may meet the same one.
    unreadable_trees: IdSet,
}

/// Pass 2: every tree of every commit, each tree id decoded once per part; the first site of
/// each blob (and its first site of a known kind).
///
/// The commits, oldest first, are cut into contiguous parts walked in parallel; the parts are
/// merged in order, an earlier part's site winning, so a blob's first site is the one a single
/// walk would record.
fn collect_blobs(
    repo: &gix::Repository,
    commits: &[(ObjectId, i64)],
    part_len: usize,
    prefix: &str,
    exclude: &Excludes,
    root_display: &str,
    out: &mut RepoOutcome,
) -> (Vec<CommitMeta>, IdMap<ObjectId, BlobSites>) {
    let parts = commits
        .len()
        .div_ceil(part_len.max(1))
        .clamp(1, TREE_PASS_PARTS);
    let part_len = commits.len().div_ceil(parts).max(1);
    let packs = packs::Packs::open(repo);
    let shared = repo.clone().into_sync();
    let parts: Vec<TreePart> = commits
        .par_chunks(part_len)
        .map(|chunk| {
            let local = shared.to_thread_local();
            let mut objects = packs.reader(&local.objects, PACK_CACHE_BYTES);
            walk_trees(&mut objects, local.object_hash(), chunk, prefix, exclude)
        })
        .collect();
    let mut metas = Vec::with_capacity(commits.len());
    let mut blobs: IdMap<ObjectId, BlobSites> = IdMap::default();
    let mut unreadable_commits = 0usize;
    let mut unreadable_trees = IdSet::default();
    for part in parts {
        let base = metas.len() as u32;
        metas.extend(part.metas);
        unreadable_commits += part.unreadable_commits;
        unreadable_trees.extend(part.unreadable_trees);
        for (id, mut sites) in part.blobs {
            sites.first.commit += base;
            if let Some((site, _)) = &mut sites.known {
                site.commit += base;
            }
            match blobs.entry(id) {
                gix::hashtable::hash_map::Entry::Vacant(slot) => {
                    slot.insert(sites);
                }
                gix::hashtable::hash_map::Entry::Occupied(mut slot) => {
                    let earlier = slot.get_mut();
                    if earlier.known.is_none() {
                        earlier.known = sites.known;
                    }
                }
            }
        }
    }
    let unreadable_trees = unreadable_trees.len();
    if unreadable_commits + unreadable_trees > 0 {
        out.errors.push(FileError {
            path: root_display.to_string(),
            line: None,
            message: format!(
                "{} commit{} and {} tree{} could not be read (missing or corrupt objects): the blobs under them are not scanned",
                unreadable_commits,
                if unreadable_commits == 1 { "" } else { "s" },
                unreadable_trees,
                if unreadable_trees == 1 { "" } else { "s" }
            ),
        });
    }
    (metas, blobs)
}

/// One part of pass 2: the trees of `commits` (oldest first), each tree id decoded once.
fn walk_trees(
    objects: &mut packs::Objects<'_>,
    hash: gix::hash::Kind,
    commits: &[(ObjectId, i64)],
    prefix: &str,
    exclude: &Excludes,
) -> TreePart {
    let mut part = TreePart {
        metas: Vec::with_capacity(commits.len()),
        ..TreePart::default()
    };
    let mut seen_trees = IdSet::default();
    let mut buf = Vec::new();
    let mut tree_buf = Vec::new();
    let mut stack: Vec<(ObjectId, BString)> = Vec::new();
    for &(id, commit_time) in commits {
        let Some((gix::object::Kind::Commit, data)) = objects.find(&id, &mut buf) else {
            part.unreadable_commits += 1;
            continue;
        };
        let Ok(commit) = gix::objs::CommitRef::from_bytes(data, hash) else {
            part.unreadable_commits += 1;
            continue;
        };
        let (author, date, author_time) = match commit.author() {
            Ok(sig) => {
                let time = sig.time().ok();
                (
                    sig.name.trim().to_str_lossy().into_owned(),
                    time.and_then(|t| t.format(gix::date::time::format::ISO8601_STRICT).ok())
                        .unwrap_or_default(),
                    time.map_or(commit_time, |t| t.seconds),
                )
            }
            Err(_) => (String::new(), String::new(), commit_time),
        };
        let commit_index = part.metas.len() as u32;
        part.metas.push(CommitMeta {
            id,
            author,
            date,
            time: author_time,
        });
        stack.push((commit.tree(), BString::default()));
        while let Some((tree_id, path)) = stack.pop() {
            if !seen_trees.insert(tree_id) {
                continue;
            }
            let Some((gix::object::Kind::Tree, data)) = objects.find(&tree_id, &mut tree_buf)
            else {
                part.unreadable_trees.insert(tree_id);
                continue;
            };
            for entry in gix::objs::TreeRefIter::from_bytes(data, hash) {
                let Ok(entry) = entry else {
                    part.unreadable_trees.insert(tree_id);
                    break;
                };
                let is_tree = entry.mode.is_tree();
                // Nothing to learn from a tree already walked or a blob whose sites are known:
                // skipped before any path is built (most entries of most trees).
                if is_tree {
                    if seen_trees.contains(entry.oid) {
                        continue;
                    }
                } else if !entry.mode.is_blob()
                    || part.blobs.get(entry.oid).is_some_and(|s| s.known.is_some())
                {
                    // Symbolic links hold a path, submodules a commit of another repository.
                    continue;
                }
                let mut child = path.clone();
                if !child.is_empty() {
                    child.push_byte(b'/');
                }
                child.push_str(entry.filename);
                if is_tree {
                    if on_prefix_path(child.as_ref(), prefix)
                        && !exclude.excludes(entry.filename, child.as_ref(), true)
                    {
                        stack.push((entry.oid.to_owned(), child));
                    }
                    continue;
                }
                if !under_prefix(child.as_ref(), prefix)
                    || exclude.excludes(entry.filename, child.as_ref(), false)
                {
                    continue;
                }
                record_blob(&mut part.blobs, entry.oid.to_owned(), child, commit_index);
            }
        }
    }
    part
}

/// Deltas share bases: without a cache of recently inflated bases every object of a long delta
/// chain inflates the whole chain again. Bounded, one per object handle.
fn set_pack_cache(repo: &mut gix::Repository) {
    repo.objects.set_pack_cache(|| {
        Box::new(gix::odb::pack::cache::lru::MemoryCappedHashmap::new(
            PACK_CACHE_BYTES,
        ))
    });
}

fn record_blob(blobs: &mut IdMap<ObjectId, BlobSites>, id: ObjectId, path: BString, commit: u32) {
    let path = path.to_str_lossy();
    let kind = discover::classify(Path::new(path.as_ref()));
    match blobs.get_mut(&id) {
        Some(sites) => {
            // The caller only comes here for a blob seen before when its known site is missing.
            if sites.known.is_none() {
                if let Some(kind) = kind {
                    sites.known = Some((
                        Site {
                            path: path.into_owned(),
                            commit,
                        },
                        kind,
                    ));
                }
            }
        }
        None => {
            let site = Site {
                path: path.into_owned(),
                commit,
            };
            let known = kind.map(|k| (site.clone(), k));
            blobs.insert(id, BlobSites { first: site, known });
        }
    }
}

/// Is `dir` on the way to `prefix` or under it?
fn on_prefix_path(dir: &BStr, prefix: &str) -> bool {
    prefix.is_empty()
        || under_prefix(dir, prefix)
        || prefix
            .as_bytes()
            .strip_prefix(dir.as_bytes())
            .is_some_and(|rest| rest.starts_with(b"/"))
}

fn under_prefix(path: &BStr, prefix: &str) -> bool {
    prefix.is_empty()
        || path
            .as_bytes()
            .strip_prefix(prefix.as_bytes())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(b"/"))
}

/// The blob ids in HEAD's tree (under `prefix`): what "still present" means.
fn head_blobs(repo: &gix::Repository, prefix: &str) -> IdSet {
    let mut found = IdSet::default();
    let Ok(tree) = repo.head_tree_id() else {
        return found;
    };
    let hash = repo.object_hash();
    let mut buf = Vec::new();
    let mut stack: Vec<(ObjectId, BString)> = vec![(tree.detach(), BString::default())];
    while let Some((id, path)) = stack.pop() {
        let Ok(Some(data)) = repo.objects.try_find(&id, &mut buf) else {
            continue;
        };
        for entry in gix::objs::TreeRefIter::from_bytes(data.data, hash).flatten() {
            let mut child = path.clone();
            if !child.is_empty() {
                child.push_byte(b'/');
            }
            child.push_str(entry.filename);
            if entry.mode.is_tree() {
                if on_prefix_path(child.as_ref(), prefix) {
                    stack.push((entry.oid.to_owned(), child));
                }
            } else if entry.mode.is_blob() && under_prefix(child.as_ref(), prefix) {
                found.insert(entry.oid.to_owned());
            }
        }
    }
    found
}

/// What pass 3 made of one blob.
enum BlobScan {
    Done {
        id: ObjectId,
        commit: u32,
        findings: Vec<Finding>,
        source: Option<Arc<str>>,
        suppressed: usize,
        parse_failed: bool,
    },
    /// Not in the object database (a partial clone): counted in one note.
    Missing {
        path: String,
    },
    Unreadable {
        path: String,
        message: String,
    },
}

impl BlobScan {
    /// Whether the report needs anything of it beyond the count of scanned blobs.
    fn worth_keeping(&self) -> bool {
        match self {
            BlobScan::Done {
                findings,
                suppressed,
                parse_failed,
                ..
            } => !findings.is_empty() || *suppressed > 0 || *parse_failed,
            _ => true,
        }
    }

    /// A stable order of the kept results, whichever thread produced them first.
    fn order_key(&self) -> (u8, Option<ObjectId>, String) {
        match self {
            BlobScan::Done { id, .. } => (0, Some(*id), String::new()),
            BlobScan::Missing { path } => (1, None, path.clone()),
            BlobScan::Unreadable { path, message } => (2, None, format!("{path}\0{message}")),
        }
    }
}

/// Pass 3's results, filled from any thread: the count of scanned blobs and only the results
/// that say something (most blobs of a history hold nothing).
#[derive(Default)]
struct Tally {
    scanned: AtomicUsize,
    kept: Mutex<Vec<BlobScan>>,
}

impl Tally {
    fn add(&self, scan: BlobScan) {
        if matches!(scan, BlobScan::Done { .. }) {
            self.scanned.fetch_add(1, Ordering::Relaxed);
        }
        if scan.worth_keeping() {
            self.kept
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(scan);
        }
    }
}

/// Runs the checks on one blob's bytes.
fn check_blob(
    id: &ObjectId,
    sites: &BlobSites,
    data: &[u8],
    root_index: usize,
    shown_under: &(impl Fn(&str) -> String + Sync),
    settings: &ScanSettings,
) -> BlobScan {
    let nothing = || BlobScan::Done {
        id: *id,
        commit: sites.first.commit,
        findings: Vec::new(),
        source: None,
        suppressed: 0,
        parse_failed: false,
    };
    // Past versions larger than the limit are swept only (generated bundles, lock files).
    let (site, kind) = match &sites.known {
        Some((site, kind)) if (data.len() as u64) <= settings.max_file_size => (site, *kind),
        _ => (&sites.first, FileKind::Other),
    };
    // The sweep of a blob of no known kind needs `npm_`: most blobs of a history end here,
    // before any path is built. A binary blob (NUL in its first bytes) is no text to sweep.
    if kind == FileKind::Other
        && (memchr::memchr(0, &data[..data.len().min(BINARY_PROBE)]).is_some()
            || memchr::memmem::find(data, b"npm_").is_none())
    {
        return nothing();
    }
    let candidate = Candidate {
        // Checks that look around a config on disk (a compose `env_file`, a project's
        // package.json) must find nothing for a blob of the past: this path does not exist.
        fs_path: PathBuf::from("\0history").join(&site.path),
        display: shown_under(&site.path),
        kind,
        named: false,
        root: root_index,
    };
    let outcome = scan::scan_bytes(&candidate, data, settings);
    let findings: Vec<Finding> = outcome
        .findings
        .into_iter()
        .filter(|f| HISTORY_RULES.contains(&f.rule))
        .collect();
    let source = if findings.is_empty() {
        None
    } else {
        outcome.redacted
    };
    BlobScan::Done {
        id: *id,
        commit: site.commit,
        findings,
        source,
        suppressed: outcome.suppressed,
        parse_failed: !outcome.errors.is_empty() && kind != FileKind::Other,
    }
}

/// Whether objects were left out of this repository on purpose when it was fetched
/// (`git clone --filter`): its packs from a promisor remote are marked so.
fn is_partial_clone(repo: &gix::Repository) -> bool {
    let config = repo.config_snapshot();
    if config.string("extensions.partialClone").is_some() {
        return true;
    }
    let pack_dir = repo.objects.store_ref().path().join("pack");
    std::fs::read_dir(pack_dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "promisor"))
    })
}

/// A finding in one blob, before grouping.
struct Occurrence {
    finding: Finding,
    commit: u32,
    blob: ObjectId,
    source: Option<Arc<str>>,
}

/// One finding per credential: the earliest occurrence, with the others as `related`.
fn group(
    occurrences: Vec<Occurrence>,
    metas: &[CommitMeta],
    head_blobs: &IdSet,
    out: &mut RepoOutcome,
) {
    let mut groups: HashMap<String, Vec<Occurrence>> = HashMap::new();
    for o in occurrences {
        let key = match &o.finding.credential {
            Some(c) => format!("{}\0{}", o.finding.rule, c.digest()),
            None => format!("{}\0{}", o.finding.rule, o.finding.fingerprint),
        };
        groups.entry(key).or_default().push(o);
    }
    for (_, mut group) in groups {
        group.sort_by(|a, b| {
            let ta = metas.get(a.commit as usize).map_or(0, |m| m.time);
            let tb = metas.get(b.commit as usize).map_or(0, |m| m.time);
            (ta, a.commit, &a.finding.path, a.finding.line).cmp(&(
                tb,
                b.commit,
                &b.finding.path,
                b.finding.line,
            ))
        });
        let in_head = group.iter().any(|o| head_blobs.contains(&o.blob));
        let info = |commit: u32| {
            metas.get(commit as usize).map(|m| CommitInfo {
                id: m.id.to_string(),
                author: m.author.clone(),
                date: m.date.clone(),
                in_head,
            })
        };
        let mut rest = group.into_iter();
        let Some(first) = rest.next() else {
            continue;
        };
        let mut finding = first.finding;
        finding.commit = info(first.commit);
        finding.suggestion = finding
            .suggestion
            .take()
            .map(|s| history_suggestion(s, in_head));
        for o in rest {
            let short = metas
                .get(o.commit as usize)
                .map(|m| m.id.to_hex_with_len(7).to_string())
                .unwrap_or_default();
            finding.related.push(Related {
                path: o.finding.path.clone(),
                line: o.finding.line,
                column: o.finding.column,
                message: format!("the same credential, committed in {short}"),
            });
        }
        finding.related.dedup();
        if let (Some(source), Some(key)) = (first.source, finding.source_key()) {
            out.sources.insert(key, source);
        }
        out.findings.push(finding);
    }
}

/// A credential in history is not fixed by editing a file: the text is in every clone. The
/// rewrite of the file (when it is still in the tree) is the working-tree scan's business; here
/// the steps are to revoke, replace and purge.
fn history_suggestion(s: RenderedSuggestion, in_head: bool) -> RenderedSuggestion {
    let mut notes: Vec<String> = s.notes;
    if in_head {
        notes.push(
            "it is still in the current tree: a scan without --history shows the rewrite (`npm-auth-scan --diff`)"
                .to_string(),
        );
    }
    notes.push(
        "revoking is what makes it harmless; to also purge it from the history: `git filter-repo --replace-text FILE`, then force-push and have every clone re-cloned"
            .to_string(),
    );
    RenderedSuggestion {
        title: "Revoke this credential: every clone of the history still holds it".to_string(),
        applicability: Applicability::Manual,
        diff: String::new(),
        notes,
        edits: Vec::new(),
    }
}

/// The folder of the repository's work tree that `root` names, `/`-separated ("" for the top).
fn subfolder_prefix(repo: &gix::Repository, root: &Path) -> String {
    let (Some(workdir), Ok(root)) = (repo.workdir(), root.canonicalize()) else {
        return String::new();
    };
    let Ok(workdir) = workdir.canonicalize() else {
        return String::new();
    };
    match root.strip_prefix(&workdir) {
        Ok(rel) => discover::display_path(rel).trim_matches('/').to_string(),
        Err(_) => String::new(),
    }
}

/// A path in the repository as outputs show it: under the PATH as typed.
fn join_display(root_display: &str, path: &str, prefix: &str) -> String {
    let rest = if prefix.is_empty() {
        path
    } else {
        path.strip_prefix(prefix)
            .map(|r| r.trim_start_matches('/'))
            .unwrap_or(path)
    };
    if root_display.is_empty() || root_display == "." {
        rest.to_string()
    } else {
        format!("{}/{rest}", root_display.trim_end_matches('/'))
    }
}

fn provenance(repo: &gix::Repository) -> Provenance {
    let uri = repo
        .find_remote("origin")
        .ok()
        .and_then(|remote| remote.url(gix::remote::Direction::Fetch).cloned())
        .map(|mut url| {
            // A remote URL may carry a user and password (or a token as the user): never shown.
            url.set_user(None);
            url.set_password(None);
            url.to_bstring().to_string()
        })
        .unwrap_or_else(|| {
            let dir = repo.workdir().unwrap_or(repo.git_dir());
            let abs = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
            format!("file://{}", discover::display_path(&abs))
        });
    let head = repo.head().ok();
    Provenance {
        uri,
        revision: repo.head_id().ok().map(|id| id.to_string()),
        branch: head
            .as_ref()
            .and_then(|h| h.referent_name())
            .map(|n| n.shorten().to_string()),
    }
}

/// An error's text on one line (gix errors chain causes over several).
fn one_line(e: &impl std::fmt::Display) -> String {
    let text = e.to_string();
    crate::token::scrub(&text.split_whitespace().collect::<Vec<_>>().join(" ")).into_owned()
}

/// `--since DATE`: `2024-01-31`, an ISO 8601 or RFC 2822 date, `@SECONDS`, or `2 weeks ago`.
pub fn parse_since(value: &str) -> Option<i64> {
    gix::date::parse(value.trim(), Some(gix::date::Zoned::now()))
        .ok()
        .map(|t| t.seconds)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Runs git in `dir` as a fixed author, at `date` (author and committer) when given.
    pub(in crate::history) fn git(dir: &Path, args: &[&str], date: Option<&str>) {
        let mut command = std::process::Command::new("git");
        command
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com");
        if let Some(date) = date {
            command
                .env("GIT_AUTHOR_DATE", date)
                .env("GIT_COMMITTER_DATE", date);
        }
        let status = command.status().expect("git runs");
        assert!(status.success(), "git {args:?}");
    }

    /// A blob, its first path and commit, and its first path and commit of a known kind.
    type Sites = (ObjectId, String, u32, Option<(String, u32)>);

    /// Pass 2's result as plain values, sorted.
    fn sites(blobs: &IdMap<ObjectId, BlobSites>) -> Vec<Sites> {
        let mut all: Vec<_> = blobs
            .iter()
            .map(|(id, s)| {
                (
                    *id,
                    s.first.path.clone(),
                    s.first.commit,
                    s.known.as_ref().map(|(k, _)| (k.path.clone(), k.commit)),
                )
            })
            .collect();
        all.sort();
        all
    }

    #[test]
    fn tree_pass_parts_give_the_sites_of_one_walk() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        git(root, &["init", "-q", "-b", "main"], None);
        let steps: [&[(&str, Option<&str>)]; 8] = [
            &[("docs/a.txt", Some("shared value\n"))],
            &[(".npmrc", Some("shared value\n"))],
            &[("pkg/b/.npmrc", Some("registry=https://b.example/\n"))],
            &[
                ("pkg/b/.npmrc", None),
                ("pkg/c/.npmrc", Some("registry=https://b.example/\n")),
            ],
            &[("z.txt", Some("later value\n"))],
            &[("notes.md", Some("a note\n"))],
            &[(".yarnrc.yml", Some("later value\n")), ("z.txt", None)],
            &[("docs/a.txt", Some("changed\n"))],
        ];
        for (round, step) in steps.iter().enumerate() {
            for (path, content) in *step {
                let file = root.join(path);
                match content {
                    Some(text) => {
                        std::fs::create_dir_all(file.parent().expect("parent")).expect("dir");
                        std::fs::write(&file, text).expect("write");
                    }
                    None => std::fs::remove_file(&file).expect("remove"),
                }
            }
            let date = format!("2024-01-{:02}T10:00:00Z", round + 1);
            git(root, &["add", "-A"], None);
            git(
                root,
                &["commit", "-q", "-m", &format!("step {round}")],
                Some(&date),
            );
        }
        let repo = gix::open(root).expect("open");
        let options = HistoryOptions::default();
        let mut out = RepoOutcome::default();
        let note = |out: &mut RepoOutcome, message: String| {
            out.notes.push(FileError {
                path: String::new(),
                line: None,
                message,
            })
        };
        let commits = collect_commits(&repo, &options, &mut out, &note).expect("commits");
        assert_eq!(commits.len(), steps.len());
        let exclude = build_excludes(&options);
        let run = |part_len: usize| {
            let mut out = RepoOutcome::default();
            let (metas, blobs) =
                collect_blobs(&repo, &commits, part_len, "", &exclude, "", &mut out);
            assert!(out.errors.is_empty());
            (
                metas.iter().map(|m| m.id).collect::<Vec<_>>(),
                sites(&blobs),
            )
        };
        let whole = run(TREE_PASS_PART);
        let shared = whole
            .1
            .iter()
            .find(|s| s.1 == "docs/a.txt" && s.2 == 0)
            .expect("the shared blob");
        assert_eq!(
            shared.3,
            Some((".npmrc".to_string(), 1)),
            "known kind one commit later"
        );
        let later = whole
            .1
            .iter()
            .find(|s| s.1 == "z.txt")
            .expect("the later blob");
        assert_eq!(
            (later.2, later.3.clone()),
            (4, Some((".yarnrc.yml".to_string(), 6)))
        );
        for part_len in 1..=steps.len() {
            assert_eq!(run(part_len), whole, "parts of {part_len} commits");
        }
    }

    #[test]
    fn prefix_paths() {
        assert!(on_prefix_path("services".into(), "services/api"));
        assert!(on_prefix_path("services/api/x".into(), "services/api"));
        assert!(!on_prefix_path("serv".into(), "services/api"));
        assert!(!on_prefix_path("other".into(), "services/api"));
        assert!(under_prefix("services/api/.npmrc".into(), "services/api"));
        assert!(!under_prefix("services/apix/.npmrc".into(), "services/api"));
        assert!(under_prefix(".npmrc".into(), ""));
    }

    #[test]
    fn display_paths_keep_the_root_as_typed() {
        assert_eq!(join_display(".", ".npmrc", ""), ".npmrc");
        assert_eq!(join_display("repo", ".npmrc", ""), "repo/.npmrc");
        assert_eq!(
            join_display("services", "services/api/.npmrc", "services"),
            "services/api/.npmrc"
        );
    }

    #[test]
    fn since_dates() {
        assert_eq!(parse_since("2020-01-01"), Some(1_577_836_800));
        assert!(parse_since("2 weeks ago").is_some());
        assert_eq!(parse_since("not a date"), None);
    }

    #[test]
    fn commit_lines() {
        let info = CommitInfo {
            id: "0123456789abcdef".into(),
            author: "Jane Doe".into(),
            date: "2021-03-04T05:06:07+00:00".into(),
            in_head: false,
        };
        assert_eq!(
            info.describe(),
            "committed in 0123456 by Jane Doe on 2021-03-04, removed since"
        );
    }
}
