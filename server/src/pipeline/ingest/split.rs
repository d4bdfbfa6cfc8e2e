//! Cuts a CSV byte stream into blocks of whole lines, and blocks into records.
//!
//! A record is one physical line. RFC 4180 lets a quoted field span lines, but no field of
//! an event may hold a line break (it is a control character, see `row.rs`), and following
//! quotes across lines is what let one stray `"` swallow the rest of a file into a single
//! field. Cutting on every newline means each line stands alone: a line with an unbalanced
//! quote is quarantined by itself and the next line parses as usual. It also makes finding
//! boundaries a `memchr`, on any block, from any offset.
//!
//! Memory is bounded by the block size, not by the input: a line longer than
//! [`MAX_LINE_BYTES`] is never held whole. The reader keeps a short prefix of it (for the
//! quarantine), skips to its end and hands it on as [`Block::Overlong`].

use std::io::{self, Read};

/// The longest line heymax reads. Eight fields of at most `row::MAX_FIELD_BYTES` fit
/// many times over; anything longer is not an event and is quarantined unread.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// How much of an over-long line is kept for the quarantine.
pub const OVERLONG_PREFIX: usize = 512;

/// What the reader hands on, in file order.
#[derive(Debug, PartialEq)]
pub enum Block {
    /// Whole lines, the last one ending with `\n` unless it is the end of the source.
    Lines(Vec<u8>),
    /// One line longer than [`MAX_LINE_BYTES`]: its first bytes and its length
    /// (without the line end).
    Overlong { prefix: Vec<u8>, bytes: u64 },
}

/// Reads a source in blocks of about `block_size` bytes, each ending at a line end.
pub struct BlockReader<R> {
    reader: R,
    carry: Vec<u8>,
    block_size: usize,
    eof: bool,
}

impl<R: Read> BlockReader<R> {
    pub fn new(reader: R, block_size: usize) -> Self {
        Self {
            reader,
            carry: Vec::new(),
            block_size: block_size.max(1),
            eof: false,
        }
    }

    /// Reads until `buf` holds `want` bytes or the source ends.
    fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> io::Result<()> {
        while !self.eof && buf.len() < want {
            let start = buf.len();
            buf.resize(start + (want - start).max(64 * 1024), 0);
            let n = self.reader.read(&mut buf[start..])?;
            buf.truncate(start + n);
            if n == 0 {
                self.eof = true;
            }
        }
        Ok(())
    }

    /// The next block, or `None` at the end of the source.
    pub fn next_block(&mut self) -> io::Result<Option<Block>> {
        let mut buf = std::mem::take(&mut self.carry);
        let mut want = self.block_size;
        loop {
            self.fill(&mut buf, want)?;
            if buf.is_empty() {
                return Ok(None);
            }
            if let Some(i) = memchr::memrchr(b'\n', &buf) {
                self.carry = buf.split_off(i + 1);
                return Ok(Some(Block::Lines(buf)));
            }
            // No line end in `buf`: it all belongs to the line that starts it.
            if buf.len() > MAX_LINE_BYTES {
                return self.skip_overlong(buf).map(Some);
            }
            if self.eof {
                return Ok(Some(Block::Lines(buf)));
            }
            // A line longer than a block but within the limit: read on.
            want = (buf.len() * 2).min(MAX_LINE_BYTES + 1).max(buf.len() + 1);
        }
    }

    /// Keeps the first bytes of the line that starts `buf`, discards the rest of it up to
    /// its line end (reading in small steps), and keeps what follows for the next block.
    fn skip_overlong(&mut self, mut buf: Vec<u8>) -> io::Result<Block> {
        let mut bytes = buf.len() as u64;
        let mut last = buf.last().copied();
        buf.truncate(OVERLONG_PREFIX);
        let prefix = buf;
        let mut step = vec![0u8; 64 * 1024];
        loop {
            let n = self.reader.read(&mut step)?;
            if n == 0 {
                self.eof = true;
                break;
            }
            if let Some(i) = memchr::memchr(b'\n', &step[..n]) {
                bytes += i as u64;
                last = if i > 0 { Some(step[i - 1]) } else { last };
                self.carry = step[i + 1..n].to_vec();
                // A `\r\n` line end is not part of the line.
                if last == Some(b'\r') {
                    bytes -= 1;
                }
                break;
            }
            bytes += n as u64;
            last = Some(step[n - 1]);
        }
        Ok(Block::Overlong { prefix, bytes })
    }
}

/// Splits a block of whole lines into at most `parts` pieces of whole lines.
pub fn split_block(block: &[u8], parts: usize) -> Vec<&[u8]> {
    let parts = parts.max(1);
    let target = block.len() / parts + 1;
    let mut pieces = Vec::with_capacity(parts);
    let mut start = 0;
    while start < block.len() {
        let want = (start + target).min(block.len());
        let end = match memchr::memchr(b'\n', &block[want..]) {
            Some(i) if want < block.len() => want + i + 1,
            _ => block.len(),
        };
        pieces.push(&block[start..end]);
        start = end;
    }
    pieces
}

/// Iterates the lines of a piece, without their line end (`\n` or `\r\n`).
pub struct Records<'a> {
    rest: &'a [u8],
}

impl<'a> Records<'a> {
    pub fn new(piece: &'a [u8]) -> Self {
        Self { rest: piece }
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let (record, rest) = match memchr::memchr(b'\n', self.rest) {
            Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
            None => (self.rest, &self.rest[self.rest.len()..]),
        };
        self.rest = rest;
        Some(record.strip_suffix(b"\r").unwrap_or(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(data: &[u8], size: usize) -> Vec<Block> {
        let mut reader = BlockReader::new(data, size);
        let mut out = Vec::new();
        while let Some(b) = reader.next_block().unwrap() {
            out.push(b);
        }
        out
    }

    fn lines(blocks: &[Block]) -> Vec<u8> {
        let mut all = Vec::new();
        for b in blocks {
            match b {
                Block::Lines(l) => all.extend_from_slice(l),
                Block::Overlong { .. } => all.extend_from_slice(b"<overlong>\n"),
            }
        }
        all
    }

    #[test]
    fn blocks_end_at_line_ends_and_a_stray_quote_does_not_join_lines() {
        let data = b"a,b\n\"x\ny\",2\nc,d\n";
        let got = blocks(data, 6);
        assert_eq!(lines(&got), data.to_vec());
        for b in &got {
            let Block::Lines(l) = b else { panic!("{b:?}") };
            assert!(l.ends_with(b"\n"), "block {l:?} cut a line");
        }
        let recs: Vec<_> = Records::new(data).collect();
        assert_eq!(recs, vec![&b"a,b"[..], b"\"x", b"y\",2", b"c,d"]);
    }

    #[test]
    fn records_strip_crlf_and_keep_a_last_line_without_end() {
        let recs: Vec<_> = Records::new(b"a,b\r\n\r\nlast").collect();
        assert_eq!(recs, vec![&b"a,b"[..], b"", b"last"]);
    }

    #[test]
    fn split_block_keeps_every_byte_in_order() {
        let data = b"1,a\n2,b\n3,c\n4,d\n5,e\n";
        let pieces = split_block(data, 3);
        assert!(pieces.len() <= 3);
        assert_eq!(pieces.concat(), data.to_vec());
        assert!(pieces.iter().all(|p| p.ends_with(b"\n")));
    }

    #[test]
    fn a_line_longer_than_a_block_but_within_the_limit_is_read_whole() {
        let mut data = vec![b'x'; 5000];
        data.extend_from_slice(b"\nnext\n");
        let got = blocks(&data, 64);
        assert_eq!(lines(&got), data);
    }

    #[test]
    fn an_overlong_line_is_skipped_with_bounded_memory() {
        // 200 MB without a line end, then a good line: never more than a block in memory.
        struct Source {
            left: u64,
            tail: &'static [u8],
        }
        impl Read for Source {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.left > 0 {
                    let n = (buf.len() as u64).min(self.left) as usize;
                    buf[..n].fill(b'q');
                    self.left -= n as u64;
                    return Ok(n);
                }
                let n = buf.len().min(self.tail.len());
                buf[..n].copy_from_slice(&self.tail[..n]);
                self.tail = &self.tail[n..];
                Ok(n)
            }
        }
        let big = 200u64 << 20;
        let mut reader = BlockReader::new(
            Source {
                left: big,
                tail: b"\r\nok,1\n",
            },
            4096,
        );
        let first = reader.next_block().unwrap().unwrap();
        let Block::Overlong { prefix, bytes } = first else {
            panic!("expected an overlong line")
        };
        assert_eq!(prefix.len(), OVERLONG_PREFIX);
        assert_eq!(bytes, big, "the \\r of the \\r\\n line end is not counted");
        assert!(reader.carry.capacity() <= 64 * 1024);
        assert_eq!(
            reader.next_block().unwrap(),
            Some(Block::Lines(b"ok,1\n".to_vec()))
        );
        assert_eq!(reader.next_block().unwrap(), None);

        // At the end of the source, with no line end at all.
        let data = vec![b'z'; MAX_LINE_BYTES + 10];
        assert_eq!(
            blocks(&data, 1024),
            vec![Block::Overlong {
                prefix: vec![b'z'; OVERLONG_PREFIX],
                bytes: (MAX_LINE_BYTES + 10) as u64
            }]
        );
    }
}
