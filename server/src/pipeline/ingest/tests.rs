use super::*;
use std::io::Write;
use std::path::Path;

fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(content)
        .unwrap();
    path
}

fn read_header_default(path: &Path) -> Result<Header, IngestError> {
    read_header(path, &SourceConfig::default())
}

fn run(files: &[PathBuf], block: usize) -> (IngestStats, Vec<Piece>) {
    let mut pieces = Vec::new();
    let options = IngestOptions {
        block_size: block,
        threads: 2,
        ..IngestOptions::default()
    };
    let stats = ingest::<IngestError>(files, &options, &Silent, |p| {
        pieces.push(p);
        Ok(())
    })
    .unwrap();
    (stats, pieces)
}

const HEADER: &str =
    "event_time,user_id,event_type,transaction_category,miles_amount,platform,utm_source,country\n";

#[test]
fn progress_is_told_every_byte_of_every_file() {
    use std::sync::atomic::{AtomicU64, Ordering};
    #[derive(Default)]
    struct Count(AtomicU64);
    impl Progress for Count {
        fn advance(&self, bytes: u64) {
            self.0.fetch_add(bytes, Ordering::SeqCst);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let mut body = HEADER.as_bytes().to_vec();
    body.extend_from_slice(b"2025-03-07 20:45:15,u_1,like,,,web,organic,SG\n");
    body.extend_from_slice(b"2025-03-08 10:00:00,u_2,poke,,,web,organic,SG\n");
    let a = write(dir.path(), "a.csv", &body);
    let b = write(dir.path(), "b.csv", &body);
    let count = Count::default();
    let options = IngestOptions {
        block_size: 16,
        threads: 2,
        ..IngestOptions::default()
    };
    ingest::<IngestError>(&[a, b], &options, &count, |_| Ok(())).unwrap();
    assert_eq!(count.0.load(Ordering::SeqCst), 2 * body.len() as u64);
}

#[test]
fn bad_rows_are_quarantined_with_their_line_and_good_rows_load() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = HEADER.as_bytes().to_vec();
    body.extend_from_slice(b"2025-03-07 20:45:15.694746,u_1,like,,,web,organic,SG\n");
    body.extend_from_slice(b"2025-03-07 20:45:15,u_2,poke,,,web,organic,SG\n");
    body.extend_from_slice(b"\n");
    body.extend_from_slice(b"2025-03-08 10:00:00,\"u_3\",share,,,\"w\neb\",organic,SG\n");
    body.extend_from_slice(b"2025-03-08 10:00:00,u_\xff,share,,,web,organic,SG\n");
    body.extend_from_slice(b"2025-03-08 10:00:00,u_5,share\n");
    body.extend_from_slice(b"2025-03-09 10:00:00,u_6,miles_earned,dining,12.5,ios,google,MY");
    let file = write(dir.path(), "a.csv", &body);
    for block in [8, 64, 1 << 20] {
        let (stats, pieces) = run(std::slice::from_ref(&file), block);
        assert_eq!(stats.records, 7, "block {block}");
        assert_eq!(stats.good, 2);
        assert_eq!(stats.quarantined, 5);
        assert_eq!(stats.blank_lines, 1);
        let q: Vec<_> = pieces.iter().flat_map(|p| p.quarantine.clone()).collect();
        let lines: Vec<u64> = q.iter().map(|r| r.line).collect();
        // A quoted line break is two lines, each with an unbalanced quote.
        assert_eq!(lines, vec![3, 5, 6, 7, 8], "block {block}");
        assert!(q[0].reason.contains("unknown event_type \"poke\""));
        assert!(q[1].reason.contains("unbalanced double quote"));
        assert!(q[2].reason.contains("unbalanced double quote"));
        assert!(q[3].reason.contains("invalid UTF-8 in user_id"));
        assert_eq!(q[4].raw, "2025-03-08 10:00:00,u_5,share");
        let rows: usize = pieces.iter().map(|p| p.events.height()).sum();
        assert_eq!(rows, 2);
    }
}

/// Physical lines of `body` (the text after the header): segments ended by `\n`, and a
/// last one without it if it is not empty.
fn physical_lines(body: &[u8]) -> u64 {
    let ends = memchr::memchr_iter(b'\n', body).count() as u64;
    ends + u64::from(!body.is_empty() && !body.ends_with(b"\n"))
}

fn mutated_line() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    let good = (
        0u32..30,
        prop::sample::select(vec![
            "miles_earned",
            "like",
            "share",
            "reward_search",
            "miles_redeemed",
        ]),
    )
        .prop_map(|(u, t)| {
            format!("2025-03-07 20:45:15,u_{u},{t},dining,1.5,web,organic,SG").into_bytes()
        });
    let hostile = prop::sample::select(vec![
        b'"', b',', b'\0', b'\r', b'\n', 0xff, 0xc3, b'\t', b'x', b' ',
    ]);
    prop_oneof![
        4 => good.clone(),
        4 => (good, prop::collection::vec((any::<prop::sample::Index>(), hostile, any::<bool>()), 1..4))
            .prop_map(|(mut line, edits)| {
                for (at, byte, insert) in edits {
                    let i = at.index(line.len() + 1);
                    if insert || i == line.len() {
                        line.insert(i, byte);
                    } else {
                        line[i] = byte;
                    }
                }
                line
            }),
        1 => prop::collection::vec(any::<u8>(), 0..200),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
    /// Every physical line is loaded, quarantined (once, with its own number) or blank,
    /// whatever the bytes and wherever blocks are cut; nothing panics.
    #[test]
    fn every_line_is_loaded_quarantined_or_blank(
        lines in proptest::collection::vec(mutated_line(), 0..40),
        trailing_newline: bool,
        block in 1usize..400,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut body = lines.join(&b'\n');
        if trailing_newline {
            body.push(b'\n');
        }
        let mut content = HEADER.as_bytes().to_vec();
        content.extend_from_slice(&body);
        let file = write(dir.path(), "p.csv", &content);
        let mut pieces = Vec::new();
        let options = IngestOptions {
            block_size: block,
            threads: 2,
            ..IngestOptions::default()
        };
        let got = ingest::<IngestError>(
            std::slice::from_ref(&file),
            &options,
            &Silent,
            |p| {
                pieces.push(p);
                Ok(())
            },
        );
        let expected = physical_lines(&body);
        match got {
            Ok(stats) => {
                proptest::prop_assert_eq!(stats.good + stats.quarantined + stats.blank_lines, expected);
                let rows: u64 = pieces.iter().map(|p| p.events.height() as u64).sum();
                proptest::prop_assert_eq!(rows, stats.good);
                let q: Vec<u64> = pieces.iter().flat_map(|p| p.quarantine.iter().map(|r| r.line)).collect();
                proptest::prop_assert_eq!(q.len() as u64, stats.quarantined);
                proptest::prop_assert!(q.windows(2).all(|w| w[0] < w[1]), "{:?}", q);
                proptest::prop_assert!(q.iter().all(|&l| (2..=expected + 1).contains(&l)), "{:?}", q);
                for p in &pieces {
                    for r in &p.quarantine {
                        proptest::prop_assert!(!r.raw.contains('\0'));
                        proptest::prop_assert!(r.reason.len() < 300, "{}", r.reason);
                    }
                }
            }
            // Only a body with no record at all (blank lines only) is refused.
            Err(e) => {
                proptest::prop_assert!(matches!(e, IngestError::NoEvents(_)), "{}", e);
                proptest::prop_assert!(pieces.iter().all(|p| p.events.height() == 0 && p.quarantine.is_empty()));
            }
        }
    }
}

#[test]
fn a_stray_quote_costs_its_own_line_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = HEADER.as_bytes().to_vec();
    body.extend_from_slice(b"2025-03-07 20:45:15,u_0,like,,,\"web,organic,SG\n");
    for i in 1..=200 {
        body.extend_from_slice(
            format!("2025-03-07 20:45:15,u_{i},like,,,web,organic,SG\n").as_bytes(),
        );
    }
    let file = write(dir.path(), "a.csv", &body);
    for block in [64, 1 << 20] {
        let (stats, pieces) = run(std::slice::from_ref(&file), block);
        assert_eq!((stats.good, stats.quarantined), (200, 1), "block {block}");
        let q: Vec<_> = pieces.iter().flat_map(|p| p.quarantine.clone()).collect();
        assert_eq!(q[0].line, 2);
    }
}

#[test]
fn an_overlong_line_is_quarantined_with_its_number_and_a_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = HEADER.as_bytes().to_vec();
    body.extend_from_slice(b"2025-03-07 20:45:15,u_1,like,,,web,organic,SG\n");
    body.extend_from_slice(b"2025-03-07 20:45:15,u_2,like,,,web,organic,\"");
    body.extend(std::iter::repeat_n(b'A', 3 * MAX_LINE_BYTES));
    body.extend_from_slice(b"\"\n2025-03-07 20:45:15,u_3,like,,,web,organic,SG\n");
    let file = write(dir.path(), "a.csv", &body);
    for block in [1024, 1 << 20] {
        let (stats, pieces) = run(std::slice::from_ref(&file), block);
        assert_eq!((stats.good, stats.quarantined), (2, 1), "block {block}");
        let q: Vec<_> = pieces.iter().flat_map(|p| p.quarantine.clone()).collect();
        assert_eq!(q[0].line, 3);
        assert!(
            q[0].reason.contains("longer than the limit"),
            "{}",
            q[0].reason
        );
        assert!(q[0].raw.len() <= chunk::RAW_LIMIT + 3, "{}", q[0].raw.len());
    }
}

#[test]
fn header_problems_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "empty.csv", b"");
    assert!(matches!(
        read_header_default(&empty),
        Err(IngestError::Empty { .. })
    ));
    let bad = write(dir.path(), "bad.csv", b"time,user\n1,2\n");
    let err = read_header_default(&bad).unwrap_err().to_string();
    assert!(
        err.contains("expected columns [event_time, user_id"),
        "{err}"
    );
    assert!(err.contains("found [time, user]"), "{err}");
    // Another delimiter is detected; a missing required column says how to map it.
    let semi = write(dir.path(), "semi.csv", HEADER.replace(',', ";").as_bytes());
    assert_eq!(read_header_default(&semi).unwrap().delimiter, b';');
    let renamed = write(dir.path(), "renamed.csv", b"timestamp,user_id,event_type\n");
    let err = read_header_default(&renamed).unwrap_err().to_string();
    assert!(err.contains("heymax init"), "{err}");
    let mut utf16 = vec![0xff, 0xfe];
    for b in HEADER.bytes() {
        utf16.extend_from_slice(&[b, 0]);
    }
    let err = read_header_default(&write(dir.path(), "u16.csv", &utf16)).unwrap_err();
    assert!(matches!(err, IngestError::Utf16 { .. }), "{err}");
    let cr = format!(
        "{}\r2025-03-07 20:45:15,u_1,like,,,web,organic,SG\r",
        HEADER.trim_end()
    );
    let err = read_header_default(&write(dir.path(), "cr.csv", cr.as_bytes())).unwrap_err();
    assert!(matches!(err, IngestError::CrLineEnds { .. }), "{err}");
    // A huge header is neither read whole nor echoed.
    let huge = write(dir.path(), "huge.csv", &vec![b'h'; 50 << 20]);
    let err = read_header_default(&huge).unwrap_err().to_string();
    assert!(err.len() < 500, "{} bytes", err.len());
    let wide = write(dir.path(), "wide.csv", "x".repeat(60_000).as_bytes());
    let err = read_header_default(&wide).unwrap_err().to_string();
    assert!(err.len() < 500, "{} bytes", err.len());
    let shuffled = write(
        dir.path(),
        "shuffled.csv",
        b"\xef\xbb\xbfcountry,user_id,event_type,transaction_category,miles_amount,platform,utm_source,event_time\r\n",
    );
    assert_eq!(
        read_header_default(&shuffled).unwrap().layout.order,
        [7, 1, 2, 3, 4, 5, 6, 0].map(Some)
    );
    // Names in another case, an extra column and absent optional ones.
    let loose = write(
        dir.path(),
        "loose.csv",
        b"USER_ID,Event_Time,event_type,session_id\n",
    );
    let h = read_header_default(&loose).unwrap();
    assert_eq!(h.layout.fields, 4);
    assert_eq!(h.detected.ignored, ["session_id"]);
    assert_eq!(h.detected.missing.len(), 5);
    assert!(matches!(
        resolve_inputs(&dir.path().join("nope")),
        Err(IngestError::Missing(_))
    ));
    let header_only = write(dir.path(), "h.csv", HEADER.as_bytes());
    let err = ingest::<IngestError>(&[header_only], &IngestOptions::default(), &Silent, |_| {
        Ok(())
    })
    .unwrap_err();
    assert!(matches!(err, IngestError::NoEvents(_)));
}
