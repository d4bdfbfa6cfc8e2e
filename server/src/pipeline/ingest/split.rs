//! Cuts a CSV byte stream into blocks and records without breaking a quoted field.
//!
//! Ingest needs, for every bad row, its exact line number and raw text, and it parses blocks
//! on every core. The `csv` crate gives neither raw text nor a way to start mid-file, so
//! this module finds record boundaries itself (a newline outside double quotes, RFC 4180)
//! and `row.rs` hands any record that contains a quote to the `csv` crate to split.

use std::io::{self, Read};

/// Reads a source in blocks of about `block_size` bytes, each ending at a record boundary.
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

    /// The next block of whole records, or `None` at the end of the source.
    pub fn next_block(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut buf = std::mem::take(&mut self.carry);
        loop {
            while !self.eof && buf.len() < self.block_size {
                let start = buf.len();
                buf.resize(start + (self.block_size - start).max(64 * 1024), 0);
                let n = self.reader.read(&mut buf[start..])?;
                buf.truncate(start + n);
                if n == 0 {
                    self.eof = true;
                }
            }
            if buf.is_empty() {
                return Ok(None);
            }
            if self.eof {
                return Ok(Some(buf));
            }
            match last_boundary(&buf) {
                Some(cut) => {
                    self.carry = buf[cut..].to_vec();
                    buf.truncate(cut);
                    return Ok(Some(buf));
                }
                // One record longer than a block: read more.
                None => self.block_size *= 2,
            }
        }
    }
}

/// Index just past the last newline that ends a record, if any.
fn last_boundary(buf: &[u8]) -> Option<usize> {
    if memchr::memchr(b'"', buf).is_none() {
        return memchr::memrchr(b'\n', buf).map(|i| i + 1);
    }
    let mut in_quotes = false;
    let mut last = None;
    for (i, &b) in buf.iter().enumerate() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' if !in_quotes => last = Some(i + 1),
            _ => {}
        }
    }
    last
}

/// Splits a block of whole records into at most `parts` pieces of whole records.
pub fn split_block(block: &[u8], parts: usize) -> Vec<&[u8]> {
    let parts = parts.max(1);
    let target = block.len() / parts + 1;
    let mut pieces = Vec::with_capacity(parts);
    let mut start = 0;
    if memchr::memchr(b'"', block).is_none() {
        while start < block.len() {
            let want = (start + target).min(block.len());
            let end = match memchr::memchr(b'\n', &block[want..]) {
                Some(i) if want < block.len() => want + i + 1,
                _ => block.len(),
            };
            pieces.push(&block[start..end]);
            start = end;
        }
    } else {
        let mut in_quotes = false;
        for (i, &b) in block.iter().enumerate() {
            match b {
                b'"' => in_quotes = !in_quotes,
                b'\n' if !in_quotes && i + 1 - start >= target => {
                    pieces.push(&block[start..=i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        if start < block.len() {
            pieces.push(&block[start..]);
        }
    }
    pieces
}

/// Iterates the records of a piece: `(raw bytes without the line end, lines spanned)`.
pub struct Records<'a> {
    rest: &'a [u8],
    has_quotes: bool,
}

impl<'a> Records<'a> {
    pub fn new(piece: &'a [u8]) -> Self {
        Self {
            rest: piece,
            has_quotes: memchr::memchr(b'"', piece).is_some(),
        }
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = (&'a [u8], u64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let (end, lines) = if self.has_quotes {
            let mut in_quotes = false;
            let mut lines = 1;
            let mut end = None;
            for (i, &b) in self.rest.iter().enumerate() {
                match b {
                    b'"' => in_quotes = !in_quotes,
                    b'\n' if !in_quotes => {
                        end = Some(i);
                        break;
                    }
                    b'\n' => lines += 1,
                    _ => {}
                }
            }
            (end, lines)
        } else {
            (memchr::memchr(b'\n', self.rest), 1)
        };
        let (record, rest) = match end {
            Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
            None => (self.rest, &self.rest[self.rest.len()..]),
        };
        self.rest = rest;
        let record = record.strip_suffix(b"\r").unwrap_or(record);
        Some((record, lines))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_end_at_record_boundaries_even_inside_quotes() {
        let data = b"a,b\n\"x\ny\",2\nc,d\n";
        let mut reader = BlockReader::new(&data[..], 6);
        let mut blocks = Vec::new();
        while let Some(b) = reader.next_block().unwrap() {
            blocks.push(String::from_utf8(b).unwrap());
        }
        assert_eq!(blocks.concat(), String::from_utf8(data.to_vec()).unwrap());
        for b in &blocks {
            assert!(b.ends_with('\n'), "block {b:?} cut a record");
        }
        assert!(blocks.iter().any(|b| b.contains("\"x\ny\",2\n")));
    }

    #[test]
    fn records_report_lines_spanned_and_strip_crlf() {
        let data = b"a,b\r\n\"x\ny\",2\nlast";
        let recs: Vec<_> = Records::new(data).collect();
        assert_eq!(
            recs,
            vec![(&b"a,b"[..], 1), (&b"\"x\ny\",2"[..], 2), (&b"last"[..], 1)]
        );
    }

    #[test]
    fn split_block_keeps_every_byte_in_order() {
        let data = b"1,a\n2,b\n3,c\n4,d\n5,e\n";
        let pieces = split_block(data, 3);
        assert!(pieces.len() <= 3);
        assert_eq!(pieces.concat(), data.to_vec());
        assert!(pieces.iter().all(|p| p.ends_with(b"\n")));
    }
}
