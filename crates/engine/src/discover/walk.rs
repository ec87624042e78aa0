//! Searching a folder for model files without getting lost: a depth limit per store, each
//! folder visited once (so a link back up the tree ends there), hidden folders left alone, a
//! budget of entries for the whole search, and broken links named rather than followed.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::{Found, ModelSource, SkipKind};

/// Entries looked at in one whole search, over all stores: a folder like a whole home
/// directory stops here instead of taking minutes.
pub(crate) const MAX_ENTRIES: usize = 200_000;

/// One search's memory of where it has been.
pub(crate) struct Walk {
    visited: HashSet<PathBuf>,
    budget: usize,
    entries_left: usize,
    stopped: bool,
}

impl Walk {
    pub fn new() -> Walk {
        Walk::with_budget(MAX_ENTRIES)
    }

    pub fn with_budget(entries: usize) -> Walk {
        Walk {
            visited: HashSet::new(),
            budget: entries,
            entries_left: entries,
            stopped: false,
        }
    }

    /// The files below `root` (down to `depth` folders deep) whose names `wanted` accepts, in
    /// name order. Folders already visited in this search are not visited again.
    pub fn files(
        &mut self,
        root: &Path,
        depth: usize,
        wanted: &dyn Fn(&str) -> bool,
        source: ModelSource,
        found: &mut Found,
    ) -> Vec<PathBuf> {
        let mut files = Vec::new();
        let mut visit = Visit {
            wanted,
            source,
            found,
            files: &mut files,
        };
        self.visit(root, root, depth, &mut visit);
        files
    }

    fn visit(&mut self, root: &Path, dir: &Path, depth_left: usize, v: &mut Visit) {
        let Ok(canonical) = fs::canonicalize(dir) else {
            return;
        };
        if !self.visited.insert(canonical) {
            return;
        }
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                if e.kind() != io::ErrorKind::NotFound {
                    let reason = format!("cannot list this folder: {e}");
                    v.found.skip(dir, v.source, SkipKind::Unreadable, reason);
                }
                return;
            }
        };
        // Sorted for a stable order; at most what the budget allows is held.
        let mut entries: Vec<fs::DirEntry> = entries
            .filter_map(Result::ok)
            .take(self.entries_left.saturating_add(1))
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            if self.entries_left == 0 {
                self.stop(root, v);
                return;
            }
            self.entries_left -= 1;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            let Some((is_dir, is_file)) = kind_of(&entry, &path, &name, v) else {
                continue;
            };
            if is_dir && depth_left > 0 {
                self.visit(root, &path, depth_left - 1, v);
            } else if is_file && (v.wanted)(&name) {
                v.files.push(path);
            }
        }
    }

    fn stop(&mut self, root: &Path, v: &mut Visit) {
        if !self.stopped {
            self.stopped = true;
            let reason = format!(
                "stopped searching after {} files and folders; add a narrower folder",
                self.budget
            );
            v.found.skip(root, v.source, SkipKind::TooManyFiles, reason);
        }
    }
}

struct Visit<'a> {
    wanted: &'a dyn Fn(&str) -> bool,
    source: ModelSource,
    found: &'a mut Found,
    files: &'a mut Vec<PathBuf>,
}

/// (is a folder, is a file), following a link; a broken link to a wanted file is reported.
fn kind_of(entry: &fs::DirEntry, path: &Path, name: &str, v: &mut Visit) -> Option<(bool, bool)> {
    let file_type = entry.file_type().ok()?;
    if !file_type.is_symlink() {
        return Some((file_type.is_dir(), file_type.is_file()));
    }
    match fs::metadata(path) {
        Ok(m) => Some((m.is_dir(), m.is_file())),
        Err(e) => {
            if (v.wanted)(name) {
                v.found
                    .skip(path, v.source, SkipKind::BrokenLink, broken_link(path, &e));
            }
            None
        }
    }
}

/// Why a link cannot be followed, in words.
pub(crate) fn broken_link(path: &Path, e: &io::Error) -> String {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::ELOOP) {
        return "a symbolic link that loops back on itself".into();
    }
    match (e.kind(), fs::read_link(path)) {
        (io::ErrorKind::NotFound, Ok(target)) => {
            format!("a link to {}, which does not exist", target.display())
        }
        _ => format!("cannot follow this link: {e}"),
    }
}

pub(crate) fn is_gguf(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() > 5 && b[b.len() - 5..].eq_ignore_ascii_case(b".gguf")
}

/// The name without `.gguf` (any case).
pub(crate) fn without_gguf(name: &str) -> &str {
    if is_gguf(name) {
        &name[..name.len() - 5]
    } else {
        name
    }
}

/// A model's files: one, or the parts of a split model in order.
pub(crate) struct ModelFiles {
    pub first: PathBuf,
    pub more: Vec<PathBuf>,
    /// The file name without `.gguf` and without the `-00001-of-00003` of a split.
    pub stem: String,
}

/// `("name", 1, 3)` for `name-00001-of-00003.gguf`, the naming of llama.cpp's `gguf-split`.
fn split_part(file_name: &str) -> Option<(&str, u32, u32)> {
    if !is_gguf(file_name) {
        return None;
    }
    let stem = without_gguf(file_name);
    let (rest, count) = stem.rsplit_once("-of-")?;
    let (prefix, no) = rest.rsplit_once('-')?;
    let digits = |s: &str| s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(no) || !digits(count) {
        return None;
    }
    let (no, count) = (no.parse().ok()?, count.parse().ok()?);
    (no >= 1 && no <= count).then_some((prefix, no, count))
}

/// Groups `.gguf` files into models: a split model's parts become one model when all are
/// there; when one is missing, the model is reported and left out.
pub(crate) fn group_parts(
    files: Vec<PathBuf>,
    source: ModelSource,
    found: &mut Found,
) -> Vec<ModelFiles> {
    let mut models = Vec::new();
    let mut splits: BTreeMap<(PathBuf, String, u32), BTreeMap<u32, PathBuf>> = BTreeMap::new();
    for path in files {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.unwrap_or_default();
        match split_part(&name) {
            Some((prefix, no, count)) => {
                let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
                let key = (dir, prefix.to_string(), count);
                splits.entry(key).or_default().insert(no, path);
            }
            None => models.push(ModelFiles {
                stem: without_gguf(&name).to_string(),
                first: path,
                more: Vec::new(),
            }),
        }
    }
    for ((_, prefix, count), parts) in splits {
        let missing: Vec<String> = (1..=count)
            .filter(|n| !parts.contains_key(n))
            .map(|n| n.to_string())
            .collect();
        if !missing.is_empty() {
            // Reported at the first part there is.
            let at = parts.values().next().cloned().unwrap_or_default();
            let which = match missing.len() {
                1 => format!("part {} of {count} is", missing[0]),
                _ => format!("parts {} of {count} are", missing.join(", ")),
            };
            let reason = format!("{prefix} is split into {count} files and {which} missing");
            found.skip(&at, source, SkipKind::Missing, reason);
            continue;
        }
        let mut parts = parts.into_values();
        let Some(first) = parts.next() else {
            continue;
        };
        models.push(ModelFiles {
            first,
            more: parts.collect(),
            stem: prefix,
        });
    }
    models
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_names_are_recognised() {
        assert_eq!(
            split_part("Llama-70B-Q4_K_M-00002-of-00003.gguf"),
            Some(("Llama-70B-Q4_K_M", 2, 3))
        );
        assert_eq!(split_part("model-00004-of-00003.gguf"), None);
        assert_eq!(split_part("model-2-of-3.gguf"), None);
        assert_eq!(split_part("gemma-3-270m-q4_k_m.gguf"), None);
        assert!(is_gguf("a.GGUF") && !is_gguf(".gguf") && !is_gguf("a.gguf.part"));
        assert!(!is_gguf("modèle€") && without_gguf("é.gguf") == "é");
    }

    fn touch(dir: &Path, names: &[&str]) -> Vec<PathBuf> {
        names
            .iter()
            .map(|n| {
                let p = dir.join(n);
                std::fs::write(&p, b"").unwrap();
                p
            })
            .collect()
    }

    #[test]
    fn a_split_model_is_one_model_with_its_parts_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let names = [
            "m-00002-of-00002.gguf",
            "m-00001-of-00002.gguf",
            "solo.gguf",
        ];
        let files = touch(dir.path(), &names);
        let mut found = Found::default();
        let models = group_parts(files.clone(), ModelSource::Folder, &mut found);
        assert!(found.skipped.is_empty());
        let stems: Vec<&str> = models.iter().map(|m| m.stem.as_str()).collect();
        assert_eq!(stems, ["solo", "m"]);
        assert_eq!(models[1].first, files[1]);
        assert_eq!(models[1].more, [files[0].clone()]);
    }

    #[test]
    fn a_search_stops_when_its_budget_of_entries_is_spent() {
        let dir = tempfile::tempdir().unwrap();
        touch(
            dir.path(),
            &["a.gguf", "b.gguf", "c.gguf", "d.gguf", "e.gguf"],
        );
        let mut found = Found::default();
        let mut walk = Walk::with_budget(3);
        let files = walk.files(dir.path(), 2, &is_gguf, ModelSource::Folder, &mut found);
        assert_eq!(files.len(), 3);
        assert_eq!(found.skipped.len(), 1);
        assert_eq!(found.skipped[0].kind, SkipKind::TooManyFiles);
        // The same folder is not searched twice in one search.
        assert!(walk
            .files(dir.path(), 2, &is_gguf, ModelSource::Folder, &mut found)
            .is_empty());
    }
}
