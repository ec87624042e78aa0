//! The vector index: usearch HNSW over unit vectors (cosine), keyed by chunk id.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

use crate::error::{Error, Result};

/// How vectors are stored in the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    #[default]
    F32,
    /// Half the memory; recall practically unchanged for unit vectors.
    F16,
    /// A quarter of the memory.
    I8,
}

impl Precision {
    fn scalar(self) -> ScalarKind {
        match self {
            Precision::F32 => ScalarKind::F32,
            Precision::F16 => ScalarKind::F16,
            Precision::I8 => ScalarKind::I8,
        }
    }
}

impl std::str::FromStr for Precision {
    type Err = Error;
    fn from_str(s: &str) -> Result<Precision> {
        match s {
            "f32" => Ok(Precision::F32),
            "f16" => Ok(Precision::F16),
            "i8" => Ok(Precision::I8),
            _ => Err(Error::Usage(format!(
                "unknown vector precision {s:?}; use f32, f16 or i8"
            ))),
        }
    }
}

/// Candidates explored per search; measured on real embeddings, see docs/benchmarks.md.
pub const EXPANSION_SEARCH: usize = 256;

pub struct VectorIndex {
    index: Index,
    path: PathBuf,
    changed: bool,
}

fn index_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Index(format!("{what}: {e}"))
}

/// The HNSW configuration of every Quire index (public for the benchmarks).
pub fn index_options(dimensions: usize, precision: Precision) -> IndexOptions {
    IndexOptions {
        dimensions,
        metric: MetricKind::Cos,
        quantization: precision.scalar(),
        connectivity: 16,
        expansion_add: 128,
        expansion_search: EXPANSION_SEARCH,
        multi: false,
    }
}

impl VectorIndex {
    /// Opens the index saved at `path`, or starts an empty one when there is none. An index
    /// file with other dimensions is discarded (the caller re-embeds from the database).
    pub fn open(path: &Path, dimensions: usize, precision: Precision) -> Result<VectorIndex> {
        let options = index_options(dimensions, precision);
        let index = Index::new(&options).map_err(|e| index_error("cannot create", e))?;
        let mut changed = false;
        let usable = path.is_file()
            && Index::metadata(&path.to_string_lossy())
                .map(|m| {
                    m.dimensions as usize == dimensions && m.quantization == precision.scalar()
                })
                .unwrap_or(false);
        if usable {
            index
                .load(&path.to_string_lossy())
                .map_err(|e| index_error("cannot load", e))?;
            index.change_expansion_search(EXPANSION_SEARCH);
        } else if path.exists() {
            changed = true;
        }
        Ok(VectorIndex {
            index,
            path: path.to_path_buf(),
            changed,
        })
    }

    /// An empty index for `path`, whatever is saved there (a file found damaged): the next
    /// save replaces the file.
    pub fn empty(path: &Path, dimensions: usize, precision: Precision) -> Result<VectorIndex> {
        let index = Index::new(&index_options(dimensions, precision))
            .map_err(|e| index_error("cannot create", e))?;
        index.change_expansion_search(EXPANSION_SEARCH);
        Ok(VectorIndex {
            index,
            path: path.to_path_buf(),
            changed: true,
        })
    }

    pub fn len(&self) -> usize {
        self.index.size()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, key: i64) -> bool {
        self.index.contains(key as u64)
    }

    /// Adds vectors; a key already present is replaced.
    pub fn add(&mut self, items: &[(i64, Vec<f32>)]) -> Result<()> {
        let needed = self.index.size() + items.len();
        if needed > self.index.capacity() {
            let capacity = needed.max(self.index.capacity() * 2).max(1024);
            self.index
                .reserve(capacity)
                .map_err(|e| index_error("cannot grow", e))?;
        }
        for (key, vector) in items {
            if self.index.contains(*key as u64) {
                self.index
                    .remove(*key as u64)
                    .map_err(|e| index_error("cannot replace", e))?;
            }
            self.index
                .add(*key as u64, vector)
                .map_err(|e| index_error("cannot add", e))?;
        }
        self.changed |= !items.is_empty();
        Ok(())
    }

    pub fn remove(&mut self, keys: &[i64]) -> Result<()> {
        for &key in keys {
            if self.index.contains(key as u64) {
                self.index
                    .remove(key as u64)
                    .map_err(|e| index_error("cannot remove", e))?;
                self.changed = true;
            }
        }
        Ok(())
    }

    /// The `count` nearest keys to `query` with their cosine similarity, best first; only keys
    /// in `allowed` when given.
    pub fn search(
        &self,
        query: &[f32],
        count: usize,
        allowed: Option<&HashSet<i64>>,
    ) -> Result<Vec<(i64, f32)>> {
        if self.index.size() == 0 || count == 0 {
            return Ok(Vec::new());
        }
        let matches = match allowed {
            Some(set) => self
                .index
                .filtered_search(query, count, |key| set.contains(&(key as i64))),
            None => self.index.search(query, count),
        }
        .map_err(|e| index_error("search failed", e))?;
        Ok(matches
            .keys
            .iter()
            .zip(&matches.distances)
            .map(|(&k, &d)| (k as i64, 1.0 - d))
            .collect())
    }

    /// Whether there are changes not yet saved.
    pub fn is_changed(&self) -> bool {
        self.changed
    }

    /// Writes the index next to its file and renames it into place, so that the file on disk
    /// is always a complete index, old or new. Returns the written file's [`file_checksum`]
    /// (computed from the bytes written, not read back), or `None` when there was nothing to save.
    pub fn save(&mut self) -> Result<Option<String>> {
        self.save_with(|_| Ok(()))
    }

    /// [`VectorIndex::save`], calling `record` with the new file's checksum once it is written
    /// and before it replaces the old one: a process killed in between leaves the old file,
    /// whose checksum the caller still knows. When `record` fails, the old file stays.
    pub fn save_with(&mut self, record: impl FnOnce(&str) -> Result<()>) -> Result<Option<String>> {
        if !self.changed {
            return Ok(None);
        }
        let tmp = self.path.with_extension("usearch.tmp");
        // Serialised in memory and written with the standard library, so that a full disk
        // reads "No space left on device" (usearch's own writer only says "Failed to serialize
        // into stream"), and a failed write leaves no partial file behind.
        let mut bytes = vec![0u8; self.index.serialized_length()];
        self.index
            .save_to_buffer(&mut bytes)
            .map_err(|e| index_error("cannot save", e))?;
        let written = (|| -> std::io::Result<()> {
            use std::io::Write;
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&bytes)?;
            file.sync_all()
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::Io(std::io::Error::new(
                e.kind(),
                format!("cannot save the vector index: {e}"),
            )));
        }
        let checksum = checksum_of(&bytes[..])?;
        if let Err(e) = record(&checksum) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            // Persist the rename itself.
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        self.changed = false;
        Ok(Some(checksum))
    }
}

/// The size and SHA-256 of a saved index file. Recorded in the database after each save and
/// compared before loading, so that a file deleted, truncated or overwritten is noticed instead
/// of answering searches with wrong neighbours.
pub fn file_checksum(path: &Path) -> std::io::Result<String> {
    checksum_of(std::fs::File::open(path)?)
}

fn checksum_of(reader: impl std::io::Read) -> std::io::Result<String> {
    let (size, sha256) = crate::digest::sha256_of(reader)?;
    Ok(format!("{size}:{sha256}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn add_search_remove_save_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.usearch");
        let mut index = VectorIndex::open(&path, 3, Precision::F32).unwrap();
        index
            .add(&[
                (1, unit(&[1.0, 0.0, 0.0])),
                (2, unit(&[0.0, 1.0, 0.0])),
                (3, unit(&[1.0, 1.0, 0.0])),
            ])
            .unwrap();
        let hits = index.search(&unit(&[1.0, 0.1, 0.0]), 2, None).unwrap();
        assert_eq!(hits[0].0, 1);
        assert!((hits[0].1 - 0.995).abs() < 0.01);
        let only: HashSet<i64> = [2].into();
        assert_eq!(
            index
                .search(&unit(&[1.0, 0.0, 0.0]), 2, Some(&only))
                .unwrap()[0]
                .0,
            2
        );
        index.remove(&[1]).unwrap();
        assert_eq!(index.len(), 2);
        assert!(!index.contains(1));
        let checksum = index.save().unwrap().expect("changed, so saved");
        assert_eq!(checksum, file_checksum(&path).unwrap());
        assert_eq!(index.save().unwrap(), None, "nothing changed since");
        let reopened = VectorIndex::open(&path, 3, Precision::F32).unwrap();
        assert_eq!(reopened.len(), 2);
        assert!(reopened.contains(3) && !reopened.contains(1));
        // Other dimensions: start empty rather than mix vectors.
        assert!(VectorIndex::open(&path, 4, Precision::F32)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn empty_index_saves_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.usearch");
        let mut index = VectorIndex::open(&path, 3, Precision::F16).unwrap();
        index.changed = true;
        index.save().unwrap();
        assert!(VectorIndex::open(&path, 3, Precision::F16)
            .unwrap()
            .is_empty());
    }
}
