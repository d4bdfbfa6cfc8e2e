//! The byte layer of the compact drill-down files: unsigned LEB128 varints (7 bits a byte,
//! little end first), zigzag varints for signed numbers and length-prefixed UTF-8 strings.
//! Why varints and not JSON: a selection is mostly small gaps between sorted user indices
//! and small event counts, one byte each, where JSON spends four to eight; and the browser
//! decodes them with a loop instead of a parser (the app stays small, no new crate).
//!
//! Every file starts with [`MAGIC`], the format's version and its [`FileKind`], so a file
//! of another version or kind is refused with a message instead of misread. The reader
//! never trusts a length it reads: it checks it against the bytes that are left before it
//! allocates anything.

/// The first bytes of every compact drill-down file.
pub const MAGIC: &[u8; 4] = b"HMXD";

/// The format's version, after [`MAGIC`]: a reader refuses any other.
pub const VERSION: u8 = 1;

/// What a file holds (its fifth byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A shard of the user dictionary.
    Users = 1,
    /// A growth selection's header with its first chunk.
    Growth = 2,
    /// A cohort selection's header with its first chunk.
    Cohort = 3,
    /// A further chunk of a growth selection.
    GrowthChunk = 4,
    /// A further chunk of a cohort selection.
    CohortChunk = 5,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the file ends early (at byte {0}): fetch it again")]
    Truncated(usize),
    #[error("a number at byte {0} does not fit")]
    Overflow(usize),
    #[error(
        "not a heymax drill-down file of this version: serve or export it with this version of heymax"
    )]
    Magic,
    #[error("a {found:?} file where a {expected:?} file was expected")]
    Kind { expected: FileKind, found: u8 },
    #[error("the text at byte {0} is not UTF-8")]
    Utf8(usize),
    #[error("{0}")]
    Invalid(&'static str),
    #[error("{0} bytes after the end of the file's data")]
    Trailing(usize),
}

/// Appends varints, strings and raw bytes to a buffer.
#[derive(Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// A buffer that starts with the header of a file of `kind`.
    pub fn file(kind: FileKind) -> Self {
        let mut w = Writer::default();
        w.buf.extend_from_slice(MAGIC);
        w.buf.push(VERSION);
        w.buf.push(kind as u8);
        w
    }

    pub fn u64(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    /// Zigzag: small magnitudes of either sign take one byte.
    pub fn i64(&mut self, v: i64) {
        self.u64(((v << 1) ^ (v >> 63)) as u64);
    }

    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub fn fixed_u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.buf.extend_from_slice(s.as_bytes());
    }

    /// An optional string: 0, or its length plus one and its bytes.
    pub fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.u64(0),
            Some(s) => {
                self.u64(s.len() as u64 + 1);
                self.buf.extend_from_slice(s.as_bytes());
            }
        }
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads what [`Writer`] wrote, checking every length against what is left.
pub struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    /// A reader past the header of a file that must be of `kind`.
    pub fn file(data: &'a [u8], kind: FileKind) -> Result<Self, DecodeError> {
        if data.len() < 6 || &data[..4] != MAGIC || data[4] != VERSION {
            return Err(DecodeError::Magic);
        }
        if data[5] != kind as u8 {
            return Err(DecodeError::Kind {
                expected: kind,
                found: data[5],
            });
        }
        Ok(Reader { data, at: 6 })
    }

    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        let start = self.at;
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = *self
                .data
                .get(self.at)
                .ok_or(DecodeError::Truncated(self.at))?;
            self.at += 1;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(DecodeError::Overflow(start));
            }
            v |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError::Overflow(start))
    }

    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        let at = self.at;
        u32::try_from(self.u64()?).map_err(|_| DecodeError::Overflow(at))
    }

    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        let v = self.u64()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    pub fn i32(&mut self) -> Result<i32, DecodeError> {
        let at = self.at;
        i32::try_from(self.i64()?).map_err(|_| DecodeError::Overflow(at))
    }

    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        let b = *self
            .data
            .get(self.at)
            .ok_or(DecodeError::Truncated(self.at))?;
        self.at += 1;
        Ok(b)
    }

    pub fn fixed_u64(&mut self) -> Result<u64, DecodeError> {
        let bytes = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(bytes);
        Ok(u64::from_le_bytes(a))
    }

    /// A count of things that take at least `min_bytes` each: never more than the bytes left
    /// could hold, so a corrupt count cannot make the reader allocate without bound.
    pub fn count(&mut self, min_bytes: usize) -> Result<usize, DecodeError> {
        let at = self.at;
        let n = self.u64()?;
        let left = (self.data.len() - self.at) as u64;
        if n.saturating_mul(min_bytes.max(1) as u64) > left && min_bytes > 0 {
            return Err(DecodeError::Truncated(at));
        }
        usize::try_from(n).map_err(|_| DecodeError::Overflow(at))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or(DecodeError::Truncated(self.at))?;
        let bytes = &self.data[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    fn text(&mut self, n: usize) -> Result<&'a str, DecodeError> {
        let at = self.at;
        std::str::from_utf8(self.take(n)?).map_err(|_| DecodeError::Utf8(at))
    }

    pub fn str(&mut self) -> Result<&'a str, DecodeError> {
        let n = self.count(1)?;
        self.text(n)
    }

    pub fn opt_str(&mut self) -> Result<Option<&'a str>, DecodeError> {
        let at = self.at;
        match self.u64()? {
            0 => Ok(None),
            n => {
                let n = usize::try_from(n - 1).map_err(|_| DecodeError::Overflow(at))?;
                self.text(n).map(Some)
            }
        }
    }

    /// Checks that nothing is left.
    pub fn end(&self) -> Result<(), DecodeError> {
        match self.data.len() - self.at {
            0 => Ok(()),
            n => Err(DecodeError::Trailing(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn varints_take_one_byte_below_128_and_refuse_what_does_not_fit() {
        let mut w = Writer::file(FileKind::Users);
        w.u64(127);
        w.u64(128);
        w.i64(-1);
        w.opt_str(None);
        w.opt_str(Some(""));
        let bytes = w.finish();
        assert_eq!(&bytes[6..], [127, 0x80, 1, 1, 0, 1]);
        let mut r = Reader::file(&bytes, FileKind::Users).unwrap();
        assert_eq!((r.u64(), r.u64(), r.i64()), (Ok(127), Ok(128), Ok(-1)));
        assert_eq!((r.opt_str(), r.opt_str()), (Ok(None), Ok(Some(""))));
        r.end().unwrap();
        let eleven = [0xffu8; 11];
        let mut data = bytes[..6].to_vec();
        data.extend_from_slice(&eleven);
        assert!(matches!(
            Reader::file(&data, FileKind::Users).unwrap().u64(),
            Err(DecodeError::Overflow(6))
        ));
        assert_eq!(
            Reader::file(&bytes, FileKind::Growth).err(),
            Some(DecodeError::Kind {
                expected: FileKind::Growth,
                found: 1
            })
        );
        assert_eq!(
            Reader::file(b"{\"rows\":[]}", FileKind::Users).err(),
            Some(DecodeError::Magic)
        );
    }

    #[test]
    fn a_count_larger_than_the_file_is_refused_before_allocating() {
        let mut w = Writer::file(FileKind::Users);
        w.u64(u64::MAX / 2);
        let bytes = w.finish();
        let mut r = Reader::file(&bytes, FileKind::Users).unwrap();
        assert!(matches!(r.count(1), Err(DecodeError::Truncated(_))));
    }

    proptest! {
        #[test]
        fn what_is_written_reads_back(
            us in proptest::collection::vec(any::<u64>(), 0..20),
            is in proptest::collection::vec(any::<i64>(), 0..20),
            s in ".*",
        ) {
            let mut w = Writer::file(FileKind::Cohort);
            for &u in &us { w.u64(u); }
            for &i in &is { w.i64(i); }
            w.str(&s);
            w.fixed_u64(7);
            let bytes = w.finish();
            let mut r = Reader::file(&bytes, FileKind::Cohort).unwrap();
            for &u in &us { prop_assert_eq!(r.u64(), Ok(u)); }
            for &i in &is { prop_assert_eq!(r.i64(), Ok(i)); }
            prop_assert_eq!(r.str(), Ok(s.as_str()));
            prop_assert_eq!(r.fixed_u64(), Ok(7));
            prop_assert!(r.end().is_ok());
        }

        #[test]
        fn any_bytes_decode_or_fail_without_panicking(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut bytes = MAGIC.to_vec();
            bytes.extend([VERSION, FileKind::Users as u8]);
            bytes.extend(data);
            let mut r = Reader::file(&bytes, FileKind::Users).unwrap();
            let _ = (r.u64(), r.str(), r.opt_str(), r.i32(), r.count(3), r.fixed_u64());
        }
    }
}
