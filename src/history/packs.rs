//! Pass 3's reader: each pack of the object database decoded once, in the pack's own order.
//!
//! A blob looked up by id lands anywhere in a pack, and a delta's bases are inflated again for
//! every lookup the delta-base cache misses: on a long history most of the time goes there.
//! Decoding a pack whole, from each base object down its tree of deltas, inflates every entry
//! exactly once (what `git index-pack` and `git cat-file --batch-all-objects --unordered` do).
//! gix does that on its own threads; the blobs the scan wants are checked right there, on the
//! thread that decoded them, so no blob outlives its check and nothing queues up.
//!
//! Whatever a pack walk did not deliver (loose objects, a pack that is corrupt or not readable
//! whole, objects missing from a partial clone) is left to the caller to look up one by one.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use gix::odb::pack;
use gix::ObjectId;

/// The pack index files of the repository's object database (alternates included).
pub(super) fn pack_indices(repo: &gix::Repository) -> Vec<PathBuf> {
    let Ok(records) = repo.objects.store_ref().structure() else {
        return Vec::new();
    };
    let mut paths = Vec::new();
    for record in records {
        match record {
            gix::odb::store::structure::Record::Index { path, .. } => paths.push(path),
            // A multi-pack index covers packs that each keep their own `.idx` beside it.
            gix::odb::store::structure::Record::MultiIndex { path, .. } => {
                paths.extend(idx_files_beside(&path));
            }
            _ => {}
        }
    }
    paths.sort();
    paths.dedup();
    paths
}

fn idx_files_beside(multi_index: &Path) -> Vec<PathBuf> {
    let Some(dir) = multi_index.parent() else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "idx"))
        .collect()
}

/// Decodes every object of the pack whose index is `idx` and hands each blob among `wanted`
/// (sorted ids) to `check`, at most once over all packs (`done` is parallel to `wanted`).
/// A pack that cannot be walked whole is an error: its blobs stay not done.
pub(super) fn walk_pack(
    idx: &Path,
    hash: gix::hash::Kind,
    threads: usize,
    wanted: &[ObjectId],
    done: &[AtomicBool],
    check: &(impl Fn(usize, &[u8]) + Sync),
) -> Result<(), String> {
    let bundle = pack::Bundle::at(idx, hash).map_err(|e| e.to_string())?;
    // Nothing to decode in a pack that holds none of the wanted blobs (a pack of old commits
    // and trees only, or one whose blobs were all delivered by another pack).
    let holds_wanted = wanted
        .iter()
        .zip(done)
        .any(|(id, done)| !done.load(Ordering::Relaxed) && bundle.index.lookup(id).is_some());
    if !holds_wanted {
        return Ok(());
    }
    let interrupt = AtomicBool::new(false);
    let processor = |kind: gix::object::Kind,
                     data: &[u8],
                     entry: &pack::index::Entry,
                     _: &dyn gix::Progress|
     -> gix::error::Result {
        if kind != gix::object::Kind::Blob {
            return Ok(());
        }
        if let Ok(at) = wanted.binary_search_by(|id| id.as_ref().cmp(entry.oid.as_ref())) {
            if !done[at].swap(true, Ordering::AcqRel) {
                check(at, data);
            }
        }
        Ok(())
    };
    bundle
        .index
        .traverse_with_index(
            &bundle.pack,
            processor,
            &mut gix::progress::Discard,
            &interrupt,
            pack::index::traverse::with_index::Options {
                // The pack's trailing checksum would read the whole file once more; an entry
                // that does not inflate is skipped (and read again, by id, by the caller).
                check: pack::index::traverse::SafetyCheck::SkipFileAndObjectChecksumVerificationAndNoAbortOnDecodeError,
                thread_limit: Some(threads.max(1)),
                alloc_limit_bytes: None,
            },
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
}
