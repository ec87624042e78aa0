//! [`Reader`]: reads a GGUF header's fields without ever reading, skipping or allocating
//! past the end of the file.

use std::io::{Read, Seek};

use super::{damaged, GgufError, Result, MAX_COUNT};

/// A reader that knows the file's length and never reads, skips or allocates past it.
pub(super) struct Reader<R> {
    source: R,
    pub pos: u64,
    pub len: u64,
}

impl<R: Read + Seek> Reader<R> {
    pub fn new(source: R, len: u64) -> Reader<R> {
        Reader {
            source,
            pos: 0,
            len,
        }
    }

    /// Fails unless `n` more bytes are in the file.
    pub fn ensure(&self, n: u64, what: &str) -> Result<()> {
        if self.pos.checked_add(n).is_some_and(|end| end <= self.len) {
            return Ok(());
        }
        Err(GgufError::Truncated(format!(
            "the file is cut short: it ends at byte {} inside its header ({what})",
            self.len
        )))
    }

    fn io(e: std::io::Error) -> GgufError {
        GgufError::Unreadable(e.to_string())
    }

    /// The first bytes of the file, without consuming them.
    pub fn peek(&mut self, buf: &mut [u8]) -> Result<usize> {
        let n = (buf.len() as u64).min(self.len) as usize;
        self.source.read_exact(&mut buf[..n]).map_err(Self::io)?;
        self.source.seek_relative(-(n as i64)).map_err(Self::io)?;
        Ok(n)
    }

    pub fn skip(&mut self, n: u64, what: &str) -> Result<()> {
        self.ensure(n, what)?;
        // `ensure` bounds `n` by the file's length, which fits an i64 on every real file system.
        let step = i64::try_from(n).map_err(|_| damaged(format!("{what} is too long")))?;
        self.source.seek_relative(step).map_err(Self::io)?;
        self.pos += n;
        Ok(())
    }

    pub fn bytes<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        self.ensure(N as u64, what)?;
        let mut buf = [0u8; N];
        self.source.read_exact(&mut buf).map_err(Self::io)?;
        self.pos += N as u64;
        Ok(buf)
    }

    pub fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.bytes(what)?))
    }

    pub fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.bytes(what)?))
    }

    /// A count of entries, each at least one byte, so never more than the bytes left.
    pub fn count(&mut self, what: &str) -> Result<u64> {
        let n = self.u64(what)?;
        if n > MAX_COUNT {
            return Err(damaged(format!("its header claims {n} {what}")));
        }
        Ok(n)
    }

    /// A little-endian integer of `size` bytes (1, 2, 4 or 8), widened.
    pub fn scalar(&mut self, size: u64, what: &str) -> Result<u64> {
        self.ensure(size, what)?;
        let mut buf = [0u8; 8];
        let n = size.min(8) as usize;
        self.source.read_exact(&mut buf[..n]).map_err(Self::io)?;
        self.pos += size;
        Ok(u64::from_le_bytes(buf))
    }

    /// A string of `len` bytes (already checked against [`MAX_KEPT_STRING`] or [`MAX_KEY`]).
    pub fn string(&mut self, len: u64, what: &str) -> Result<String> {
        self.ensure(len, what)?;
        let mut buf = vec![0u8; len as usize];
        self.source.read_exact(&mut buf).map_err(Self::io)?;
        self.pos += len;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }
}
