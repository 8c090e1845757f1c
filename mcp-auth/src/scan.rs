//! Byte scanning shared by the header and body parsers.

/// The offset of the first byte of `bytes` that is not `allowed`. Checks 16 bytes at a time
/// without branching first (which the compiler turns into vector instructions: JWTs and JSON
/// strings are hundreds of bytes, scanned on every request), then finds the byte.
pub(crate) fn first_not(bytes: &[u8], allowed: impl Fn(u8) -> bool) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(16);
    let mut offset = 0;
    for chunk in &mut chunks {
        if !chunk.iter().fold(true, |all, &b| all & allowed(b)) {
            return chunk.iter().position(|&b| !allowed(b)).map(|i| offset + i);
        }
        offset += 16;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| !allowed(b))
        .map(|i| offset + i)
}

/// The offset of the first byte of `bytes` that ends a run of plain JSON string content: a
/// quote, a backslash or a control character. Eight bytes at a time, as one 64-bit word:
/// strings in JSON-RPC bodies are mostly a few bytes long, where vector code costs more to set
/// up than it saves.
pub(crate) fn first_string_special(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::MAX / 255;
    const HIGH: u64 = ONES << 7;
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        // A byte's high bit is set where it is below 0x20, or equal to `"` or `\\`. Borrows
        // only flag bytes above a flagged one, so the lowest flag is exact.
        let control = x.wrapping_sub(ONES * 0x20) & !x;
        let quote = x ^ (ONES * u64::from(b'"'));
        let quote = quote.wrapping_sub(ONES) & !quote;
        let backslash = x ^ (ONES * u64::from(b'\\'));
        let backslash = backslash.wrapping_sub(ONES) & !backslash;
        let flags = (control | quote | backslash) & HIGH;
        if flags != 0 {
            return Some(offset + flags.trailing_zeros() as usize / 8);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b < 0x20 || b == b'"' || b == b'\\')
        .map(|i| offset + i)
}

#[cfg(test)]
mod tests {
    use super::{first_not, first_string_special};

    #[test]
    fn finds_the_first_refused_byte_in_chunks_and_the_tail() {
        let allowed = |b: u8| b != b'!';
        for len in [0, 1, 15, 16, 17, 31, 32, 33, 100] {
            let clean = vec![b'a'; len];
            assert_eq!(first_not(&clean, allowed), None, "{len}");
            for at in 0..len {
                let mut bytes = clean.clone();
                bytes[at] = b'!';
                if at + 1 < len {
                    bytes[len - 1] = b'!';
                }
                assert_eq!(first_not(&bytes, allowed), Some(at), "{len} {at}");
            }
        }
    }

    #[test]
    fn finds_the_first_string_special_byte_exactly() {
        for special in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
            for len in [0, 1, 7, 8, 9, 16, 17, 40] {
                for fill in [b'a', 0x20, 0x7f, 0x80, 0xff, b'!', b'#', b'[', b']'] {
                    let clean = vec![fill; len];
                    assert_eq!(first_string_special(&clean), None);
                    for at in 0..len {
                        let mut bytes = clean.clone();
                        bytes[at] = special;
                        // More specials above the first must not move the answer.
                        for (later, byte) in bytes.iter_mut().enumerate().skip(at + 1) {
                            if later % 3 == 0 {
                                *byte = 0x00;
                            }
                        }
                        assert_eq!(first_string_special(&bytes), Some(at), "{bytes:?}");
                    }
                }
            }
        }
    }
}
