//! SHA-256 as Quire records it: lower-case hex.

use std::io::Read;

use sha2::{Digest, Sha256};

/// A digest in lower-case hex.
pub(crate) fn hex(digest: impl AsRef<[u8]>) -> String {
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The number of bytes `reader` yields and their SHA-256, read in 64 KiB blocks.
pub(crate) fn sha256_of(mut reader: impl Read) -> std::io::Result<(u64, String)> {
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hash.update(&buf[..n]);
    }
    Ok((size, hex(hash.finalize())))
}
