//! The history scan's object reading.
//!
//! Pass 2 looks commits and trees up by id ([`Objects`]); pass 3 decodes each pack of the object
//! database once, in the pack's own order ([`walk_pack`]). Both read the packs through a
//! [`SweptMap`], so the pages of a pack they touched do not stay resident to the end of the scan
//! (a mapped page read once counts as the process's memory until it is unmapped).
//!
//! Pass 3:
//! A blob looked up by id lands anywhere in a pack, and a delta's bases are inflated again for
//! every lookup the delta-base cache misses: on a long history most of the time goes there.
//! Decoding a pack whole, from each base object down its tree of deltas, inflates every entry
//! exactly once (what `git index-pack` and `git cat-file --batch-all-objects --unordered` do).
//! gix's delta-tree traversal does that on its own threads; the blobs the scan wants are checked right there, on the
//! thread that decoded them, so no blob outlives its check and nothing queues up.
//!
//! Whatever a pack walk did not deliver (loose objects, a pack that is corrupt or not readable
//! whole, objects missing from a partial clone) is left to the caller to look up one by one.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use gix::odb::pack;
use gix::prelude::Find;
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

/// Per object decoded, the bytes of the pack it touched, rounded up to what a page costs.
const PAGE: u64 = 4096;

/// The pack's pages a walk may hold resident between two sweeps of its mapping.
const RESIDENT_PACK_BYTES: u64 = 32 * 1024 * 1024;

/// An entry not among the wanted blobs.
const UNWANTED: u32 = u32::MAX;

/// Decodes every object of the pack whose index is `idx` and hands each blob among `wanted`
/// (sorted ids) to `check`, at most once over all packs (`done` is parallel to `wanted`).
/// A pack that cannot be walked whole is an error: its blobs stay not done.
///
/// Memory stays bounded whatever the size of the pack: the tree of deltas holds an offset and
/// a slot per object (no ids), the index is closed once the tree is built, and the pages of the
/// pack mapping that the decoding touched are handed back to the page cache every
/// [`RESIDENT_PACK_BYTES`] (a mapped page read once would otherwise stay resident to the end).
pub(super) fn walk_pack(
    idx: &Path,
    hash: gix::hash::Kind,
    threads: usize,
    wanted: &[ObjectId],
    done: &[AtomicBool],
    check: &(impl Fn(usize, &[u8]) + Sync),
) -> Result<(), String> {
    let index = pack::index::File::at(idx, hash).map_err(|e| e.to_string())?;
    // Both the index and `wanted` are sorted by id: one merge gives each entry its slot.
    let mut entries: Vec<(u64, u32)> = Vec::with_capacity(index.num_objects() as usize);
    let mut next = 0usize;
    let mut holds_wanted = false;
    for entry in index.iter() {
        while next < wanted.len() && wanted[next] < entry.oid {
            next += 1;
        }
        let slot = match wanted.get(next) {
            Some(id) if *id == entry.oid => {
                holds_wanted |= !done[next].load(Ordering::Relaxed);
                u32::try_from(next).unwrap_or(UNWANTED)
            }
            _ => UNWANTED,
        };
        entries.push((entry.pack_offset, slot));
    }
    // Nothing to decode in a pack that holds none of the wanted blobs (a pack of old commits
    // and trees only, or one whose blobs were all delivered by another pack).
    if !holds_wanted {
        return Ok(());
    }
    entries.sort_unstable_by_key(|e| e.0);
    let pack_path = idx.with_extension("pack");
    let map = SweptMap::open(&pack_path).map_err(|e| e.to_string())?;
    let entries = blob_forests(entries, &map, &index, hash);
    let interrupt = AtomicBool::new(false);
    let tree = pack::cache::delta::Tree::from_offsets_in_pack(
        &pack_path,
        entries.into_iter(),
        &|e| e.0,
        &|id| Ok(index.lookup(id).map(|at| index.pack_offset_at_index(at))),
        &mut gix::progress::Discard,
        &interrupt,
        hash,
    )
    .map_err(|e| e.to_string())?;
    drop(index);
    let entries_end = (map.len() as u64).saturating_sub(hash.len_in_bytes() as u64);
    let inspect = |slot: &mut (u64, u32),
                   _: &dyn gix::Progress,
                   object: pack::cache::delta::traverse::Context<'_>|
     -> gix::error::Result {
        map.note_read(object.entry_end.saturating_sub(object.entry.data_offset) + PAGE);
        let at = slot.1;
        if at != UNWANTED && object.entry.header.as_kind() == Some(gix::object::Kind::Blob) {
            let at = at as usize;
            if !done[at].swap(true, Ordering::AcqRel) {
                check(at, object.decompressed);
            }
        }
        Ok(())
    };
    tree.traverse(
        |range, map: &SweptMap| {
            map.get(usize::try_from(range.start).ok()?..usize::try_from(range.end).ok()?)
        },
        &map,
        entries_end,
        inspect,
        pack::cache::delta::traverse::Options {
            object_progress: Box::new(gix::progress::Discard),
            size_progress: &mut gix::progress::Discard,
            thread_limit: Some(threads.max(1)),
            should_interrupt: &interrupt,
            object_hash: hash,
            alloc_limit_bytes: None,
        },
    )
    .map(drop)
    .map_err(|e| e.to_string())
}

/// The entries (sorted by offset) whose delta chains end in a blob: a delta resolves to its
/// base's kind, so the commits, trees and tags of a pack and the deltas on them need no
/// decoding to find the blobs. A delta whose base is not before it in the pack (a rare
/// `REF_DELTA`), or a header that does not parse, leaves every entry in; so does the first.
fn blob_forests(
    entries: Vec<(u64, u32)>,
    map: &SweptMap,
    index: &pack::index::File,
    hash: gix::hash::Kind,
) -> Vec<(u64, u32)> {
    use pack::data::entry::Header;
    let at = |offset: u64| entries.binary_search_by_key(&offset, |e| e.0).ok();
    let mut blob: Vec<Option<bool>> = vec![None; entries.len()];
    for (i, &(offset, _)) in entries.iter().enumerate() {
        let Some(entry) = usize::try_from(offset)
            .ok()
            .and_then(|start| map.get(start..))
            .and_then(|bytes| pack::data::Entry::from_bytes(bytes, offset, hash).ok())
        else {
            return entries;
        };
        map.note_read(PAGE);
        let base = match entry.header {
            Header::Blob => {
                blob[i] = Some(true);
                continue;
            }
            Header::Tree | Header::Commit | Header::Tag => {
                blob[i] = Some(false);
                continue;
            }
            Header::OfsDelta { base_distance } => {
                Header::verified_base_pack_offset(offset, base_distance)
            }
            Header::RefDelta { base_id } => index
                .lookup(base_id)
                .map(|found| index.pack_offset_at_index(found)),
        };
        match base.and_then(at).filter(|&j| j < i).and_then(|j| blob[j]) {
            Some(kind) => blob[i] = Some(kind),
            None => return entries,
        }
    }
    // The tree's builder reads the headers from the pack's first entry on: that entry (a base,
    // or the loop above would have returned) stays, whatever its kind.
    entries
        .into_iter()
        .zip(blob)
        .enumerate()
        .filter_map(|(i, (e, blob))| (i == 0 || blob == Some(true)).then_some(e))
        .collect()
}

/// A pack mapped read only whose resident pages are handed back to the page cache each time
/// the readers report [`RESIDENT_PACK_BYTES`] touched: a page of a mapping read once would
/// otherwise count as the process's memory to the end of the scan.
#[derive(Clone)]
pub(super) struct SweptMap {
    map: Arc<memmap2::Mmap>,
    touched: Arc<AtomicU64>,
}

impl SweptMap {
    fn open(path: &Path) -> std::io::Result<SweptMap> {
        let file = std::fs::File::open(path)?;
        // SAFETY: the mapping is read only and shared; git never rewrites a pack in place (a
        // repack writes a new file), which is the assumption gix's own mappings make.
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file) }?;
        Ok(SweptMap {
            map: Arc::new(map),
            touched: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Counts `bytes` of the mapping as read; past the budget the mapping's pages go.
    fn note_read(&self, bytes: u64) {
        let before = self.touched.fetch_add(bytes, Ordering::Relaxed);
        if before / RESIDENT_PACK_BYTES != (before + bytes) / RESIDENT_PACK_BYTES {
            self.hand_back();
        }
    }

    #[cfg(unix)]
    fn hand_back(&self) {
        // SAFETY: on a shared read-only file mapping MADV_DONTNEED only drops the page table
        // entries; a later read faults the same bytes back in from the file (the page cache),
        // so slices other threads hold into the mapping keep their contents. Failing to advise
        // only costs memory.
        #[allow(unsafe_code)]
        let _ = unsafe {
            self.map
                .unchecked_advise(memmap2::UncheckedAdvice::DontNeed)
        };
    }

    /// Elsewhere the system trims a mapping's working set itself.
    #[cfg(not(unix))]
    fn hand_back(&self) {}
}

impl std::ops::Deref for SweptMap {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map
    }
}

/// The packs of a repository mapped for the tree pass, shared by its threads.
pub(super) struct Packs {
    packs: Vec<(pack::index::File, pack::data::File<SweptMap>, SweptMap)>,
}

impl Packs {
    pub(super) fn open(repo: &gix::Repository) -> Packs {
        let hash = repo.object_hash();
        let packs = pack_indices(repo)
            .into_iter()
            .filter_map(|idx| {
                let index = pack::index::File::at(&idx, hash).ok()?;
                let path = idx.with_extension("pack");
                let map = SweptMap::open(&path).ok()?;
                let data = pack::data::File::from_data(map.clone(), path, hash).ok()?;
                Some((index, data, map))
            })
            .collect();
        Packs { packs }
    }

    /// A reader of one thread: its own delta-base cache of `cache_bytes`, and `odb` for what
    /// the packs do not hold.
    pub(super) fn reader<'p>(&'p self, odb: &'p gix::OdbHandle, cache_bytes: usize) -> Objects<'p> {
        Objects {
            packs: self,
            odb,
            inflate: gix::zlib::Inflate::default(),
            cache: pack::cache::lru::MemoryCappedHashmap::new(cache_bytes),
        }
    }
}

/// Commits and trees by id for the tree pass, from the packs through [`SweptMap`]s (so the
/// pass holds a bounded part of each pack resident), then from the object database (loose
/// objects, and whatever a pack could not give).
pub(super) struct Objects<'p> {
    packs: &'p Packs,
    odb: &'p gix::OdbHandle,
    inflate: gix::zlib::Inflate,
    cache: pack::cache::lru::MemoryCappedHashmap,
}

impl Objects<'_> {
    /// The object `id` decoded into `buf`, or `None` when no pack and no loose object has it
    /// whole.
    pub(super) fn find<'b>(
        &mut self,
        id: &gix::oid,
        buf: &'b mut Vec<u8>,
    ) -> Option<(gix::object::Kind, &'b [u8])> {
        for (index, data, map) in &self.packs.packs {
            let Some(at) = index.lookup(id) else {
                continue;
            };
            let Ok(entry) = data.entry(index.pack_offset_at_index(at)) else {
                continue;
            };
            let resolve = |base: &gix::oid, _: &mut Vec<u8>| {
                index
                    .lookup(base)
                    .map(|at| {
                        data.entry(index.pack_offset_at_index(at))
                            .map(pack::data::decode::entry::ResolvedBase::InPack)
                    })
                    .transpose()
            };
            if let Ok(outcome) =
                data.decode_entry(entry, buf, &mut self.inflate, &resolve, &mut self.cache)
            {
                map.note_read(
                    outcome.compressed_size as u64 + (u64::from(outcome.num_deltas) + 1) * PAGE,
                );
                return Some((outcome.kind, buf.as_slice()));
            }
        }
        match self.odb.try_find(id, buf) {
            Ok(Some(object)) => Some((object.kind, object.data)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::git as git_at;
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        git_at(dir, args, None);
    }

    /// A repository of a few commits whose objects sit in one pack (deltas included) and, for
    /// the last commit, loose.
    fn repository() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        git(root, &["init", "-q", "-b", "main"]);
        for round in 0..6 {
            let mut text = String::new();
            for line in 0..400 {
                text.push_str(&format!(
                    "line {line} of a file changed in round {}\n",
                    line % (round + 2)
                ));
            }
            std::fs::create_dir_all(root.join("packages/a")).expect("dir");
            std::fs::write(root.join("packages/a/notes.txt"), &text).expect("write");
            std::fs::write(
                root.join(".npmrc"),
                format!("registry=https://r{round}.example/\n"),
            )
            .expect("write");
            git(root, &["add", "-A"]);
            git(root, &["commit", "-q", "-m", &format!("round {round}")]);
            if round == 4 {
                git(root, &["repack", "-a", "-d", "-q", "--depth=50"]);
            }
        }
        dir
    }

    #[test]
    fn swept_reader_gives_every_object_the_database_gives() {
        let dir = repository();
        let repo = gix::open(dir.path()).expect("open");
        let packs = Packs::open(&repo);
        let mut objects = packs.reader(&repo.objects, 1024);
        let ids: Vec<ObjectId> = repo
            .objects
            .iter()
            .expect("iterate the database")
            .filter_map(Result::ok)
            .collect();
        assert!(
            ids.len() > 20,
            "objects in the test repository: {}",
            ids.len()
        );
        let (mut buf, mut expected) = (Vec::new(), Vec::new());
        for id in &ids {
            let want = repo
                .objects
                .try_find(id, &mut expected)
                .expect("read")
                .expect("present");
            let (want_kind, want_data) = (want.kind, want.data.to_vec());
            let (kind, data) = objects.find(id, &mut buf).expect("the swept reader has it");
            assert_eq!(
                (kind, data),
                (want_kind, want_data.as_slice()),
                "object {id}"
            );
        }
    }

    #[test]
    fn a_sweep_keeps_the_mapped_bytes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("data.pack");
        let bytes: Vec<u8> = (0..3 * PAGE as usize).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).expect("write");
        let map = SweptMap::open(&path).expect("map");
        let held = &map[..];
        assert_eq!(held, bytes.as_slice());
        // Past the budget: the pages are handed back, the slice still reads the file.
        map.note_read(RESIDENT_PACK_BYTES);
        map.note_read(RESIDENT_PACK_BYTES);
        assert_eq!(held, bytes.as_slice());
        assert_eq!(map.touched.load(Ordering::Relaxed), 2 * RESIDENT_PACK_BYTES);
    }

    #[test]
    fn a_walk_delivers_each_wanted_blob_once_with_its_bytes() {
        let dir = repository();
        let repo = gix::open(dir.path()).expect("open");
        let mut wanted: Vec<ObjectId> = Vec::new();
        let mut buf = Vec::new();
        for id in repo.objects.iter().expect("iterate").filter_map(Result::ok) {
            let object = repo
                .objects
                .try_find(&id, &mut buf)
                .expect("read")
                .expect("present");
            if object.kind == gix::object::Kind::Blob {
                wanted.push(id);
            }
        }
        wanted.sort();
        let done: Vec<AtomicBool> = wanted.iter().map(|_| AtomicBool::new(false)).collect();
        let seen = std::sync::Mutex::new(Vec::new());
        for idx in pack_indices(&repo) {
            walk_pack(&idx, repo.object_hash(), 2, &wanted, &done, &|at, data| {
                seen.lock().expect("lock").push((at, data.to_vec()));
            })
            .expect("the pack walks whole");
        }
        let mut seen = seen.into_inner().expect("lock");
        seen.sort();
        let packed: Vec<usize> = seen.iter().map(|s| s.0).collect();
        let mut unique = packed.clone();
        unique.dedup();
        assert_eq!(packed, unique, "no blob twice");
        // The last commit's blobs are loose: left to the caller, not done.
        assert!(!seen.is_empty() && seen.len() < wanted.len());
        for (at, data) in &seen {
            let object = repo
                .objects
                .try_find(&wanted[*at], &mut buf)
                .expect("read")
                .expect("present");
            assert_eq!(object.data, data.as_slice());
            assert!(done[*at].load(Ordering::Relaxed));
        }
    }

    #[test]
    fn only_blob_chains_are_decoded_by_a_walk() {
        let dir = repository();
        let repo = gix::open(dir.path()).expect("open");
        let hash = repo.object_hash();
        let idx = pack_indices(&repo).pop().expect("a pack");
        let index = pack::index::File::at(&idx, hash).expect("index");
        let mut by_offset: Vec<(u64, ObjectId)> =
            index.iter().map(|e| (e.pack_offset, e.oid)).collect();
        by_offset.sort();
        let entries: Vec<(u64, u32)> = by_offset.iter().map(|e| (e.0, UNWANTED)).collect();
        let map = SweptMap::open(&idx.with_extension("pack")).expect("map");
        let kept = blob_forests(entries.clone(), &map, &index, hash);
        assert_eq!(kept.first(), entries.first(), "the first entry stays");
        let mut buf = Vec::new();
        let kind = |offset: u64, buf: &mut Vec<u8>| {
            let at = by_offset
                .binary_search_by_key(&offset, |e| e.0)
                .expect("offset");
            repo.objects
                .try_find(&by_offset[at].1, buf)
                .expect("read")
                .expect("present")
                .kind
        };
        let blobs = entries
            .iter()
            .filter(|e| kind(e.0, &mut buf) == gix::object::Kind::Blob)
            .count();
        assert!(blobs > 0 && blobs < entries.len());
        assert_eq!(
            kept.iter()
                .skip(1)
                .filter(|e| kind(e.0, &mut buf) == gix::object::Kind::Blob)
                .count(),
            kept.len() - 1,
            "every entry kept after the first is a blob"
        );
        let first_is_blob = usize::from(kind(entries[0].0, &mut buf) == gix::object::Kind::Blob);
        assert_eq!(
            kept.len() - 1 + first_is_blob,
            blobs,
            "and every blob is kept"
        );
    }
}
