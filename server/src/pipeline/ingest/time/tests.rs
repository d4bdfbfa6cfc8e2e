use chrono_tz::Tz;

use super::*;

/// 2025-05-04 09:50:20.784808 UTC.
const SAMPLE: i64 = 1_746_352_220_784_808;
const SEC: i64 = 1_000_000;

fn utc(text: &str) -> Option<i64> {
    TimeOptions::default().parse(text.as_bytes()).map(|t| t.utc)
}

fn with(format: TimeFormat, source_zone: Tz, zone: Tz) -> TimeOptions {
    TimeOptions {
        format,
        source_zone,
        zone,
    }
}

/// Microseconds of a zone-less UTC text (the test's own clock).
fn at(text: &str) -> i64 {
    parse_timestamp(text.as_bytes()).expect(text)
}

#[test]
fn timestamps_parse_to_microseconds() {
    assert_eq!(parse_timestamp(b"1970-01-01 00:00:00"), Some(0));
    assert_eq!(
        parse_timestamp(b"1970-01-02 00:00:01.5"),
        Some(86_401_500_000)
    );
    assert_eq!(parse_timestamp(b"2025-05-04 09:50:20.784808"), Some(SAMPLE));
    assert_eq!(
        parse_timestamp(b"2025-05-04T09:50:20"),
        Some(SAMPLE - 784_808)
    );
    for bad in [
        "2025-02-30 00:00:00",
        "2025-05-04",
        "2025-05-04 25:00:00",
        "2025-05-04 09:50:20.",
        "2025-05-04 09:50:20+01",
        "yesterday",
    ] {
        assert_eq!(parse_timestamp(bad.as_bytes()), None, "{bad}");
    }
}

#[test]
fn every_accepted_form_names_the_same_instant() {
    for text in [
        "2025-05-04 09:50:20.784808",
        "2025-05-04T09:50:20.784808",
        "2025-05-04t09:50:20.784808",
        "2025-05-04T09:50:20.784808Z",
        "2025-05-04T09:50:20.784808z",
        "2025-05-04 09:50:20.784808Z",
        "2025-05-04T17:50:20.784808+08:00",
        "2025-05-04T17:50:20.784808+0800",
        "2025-05-04T17:50:20.784808+08",
        "2025-05-04T04:20:20.784808-05:30",
        "2025-05-04T09:50:20.784808+00:00",
        "2025-05-04T09:50:20.784808-00:00",
        "2025-05-04T09:50:20,784808Z",
        // Nanoseconds are truncated to microseconds.
        "2025-05-04T09:50:20.784808999Z",
        "2025-05-04T09:50:20.7848081Z",
        "1746352220.784808",
        "1746352220.784808999",
    ] {
        assert_eq!(utc(text), Some(SAMPLE), "{text}");
    }
    for (text, micros) in [
        ("2025-05-04T09:50:20Z", SAMPLE - 784_808),
        ("2025-05-04T09:50:20.7Z", SAMPLE - 84_808),
        ("2025-05-04T09:50:20.78+00:00", SAMPLE - 4_808),
        ("2025-05-04T09:50:20.784Z", SAMPLE - 808),
        ("1746352220", SAMPLE - 784_808),
        ("1746352220.5", SAMPLE - 284_808),
        ("1746352220784", SAMPLE - 808),
        ("0", 0),
        // Across midnight and the year.
        ("2025-01-01T07:30:00+08:00", at("2024-12-31 23:30:00")),
        ("2024-12-31T20:00:00-05:00", at("2025-01-01 01:00:00")),
    ] {
        assert_eq!(utc(text), Some(micros), "{text}");
    }
}

#[test]
fn bad_times_are_refused() {
    for bad in [
        "",
        "2025-05-04",
        "2025-05-04 09:50",
        "2025-02-29T00:00:00Z",
        "2025-05-04T24:00:00Z",
        "2025-05-04T09:60:00Z",
        "2025-05-04T09:50:20.Z",
        "2025-05-04T09:50:20.1234567890Z",
        "2025-05-04T09:50:20ZZ",
        "2025-05-04T09:50:20 Z",
        "2025-05-04T09:50:20+8",
        "2025-05-04T09:50:20+08:0",
        "2025-05-04T09:50:20+08:60",
        "2025-05-04T09:50:20+19:00",
        "2025-05-04T09:50:20+08:00:00",
        "2025-05-04T09:50:20UTC",
        "2025-05-04_09:50:20",
        "yesterday",
        "-1746352220",
        "+1746352220",
        "1746352220.",
        "1746352220.5.5",
        "1746352220.1234567890",
        " 1746352220",
        "1746352220 ",
        "1e9",
        // Millisecond epochs are whole numbers; 15 digits is neither seconds nor millis.
        "1746352220784.5",
        "174635222078480",
        "99999999999999999999999",
    ] {
        assert_eq!(utc(bad), None, "{bad:?}");
    }
}

#[test]
fn bare_numbers_are_seconds_up_to_11_digits_and_millis_from_12_to_14() {
    assert_eq!(utc("99999999999"), Some(99_999_999_999 * SEC));
    assert_eq!(utc("100000000000"), Some(100_000_000_000 * 1000));
    assert_eq!(utc("99999999999999"), Some(99_999_999_999_999 * 1000));
    assert_eq!(utc("999999999999999"), None);
    // Declared formats take any length that fits in 9999-12-31.
    let seconds = with(TimeFormat::EpochSeconds, Tz::UTC, Tz::UTC);
    let millis = with(TimeFormat::EpochMillis, Tz::UTC, Tz::UTC);
    let parse = |o: &TimeOptions, t: &str| o.parse(t.as_bytes()).map(|t| t.utc);
    assert_eq!(parse(&seconds, "1746352220784"), None); // the year 57310
    assert_eq!(parse(&seconds, "253402300799"), Some(253_402_300_799 * SEC));
    assert_eq!(parse(&millis, "1746352220"), Some(1_746_352_220 * 1000));
    assert_eq!(parse(&millis, "1746352220.5"), None);
    assert_eq!(parse(&millis, "2025-05-04T09:50:20Z"), None);
    let iso = with(TimeFormat::Iso, Tz::UTC, Tz::UTC);
    assert_eq!(parse(&iso, "1746352220"), None);
    assert_eq!(parse(&iso, "2025-05-04T09:50:20.784808Z"), Some(SAMPLE));
}

#[test]
fn formats_are_named() {
    for name in TimeFormat::NAMES {
        assert_eq!(TimeFormat::parse(name).map(TimeFormat::name), Ok(name));
    }
    assert_eq!(TimeFormat::parse(" ISO "), Ok(TimeFormat::Iso));
    let err = TimeFormat::parse("unix").unwrap_err();
    assert!(err.contains("epoch_millis"), "{err}");
}

#[test]
fn only_the_utc_wall_clock_is_not_rewritten() {
    let plain = TimeOptions::default();
    let rewritten = |o: &TimeOptions, t: &str| o.parse(t.as_bytes()).map(|t| t.rewritten);
    assert_eq!(rewritten(&plain, "2025-05-04 09:50:20.784808"), Some(false));
    assert_eq!(rewritten(&plain, "2025-05-04T09:50:20"), Some(true));
    assert_eq!(rewritten(&plain, "2025-05-04T09:50:20Z"), Some(true));
    assert_eq!(rewritten(&plain, "2025-05-04T09:50:20+00:00"), Some(true));
    assert_eq!(rewritten(&plain, "1746352220"), Some(true));
    let singapore = with(TimeFormat::Auto, Tz::Asia__Singapore, Tz::UTC);
    assert_eq!(rewritten(&singapore, "2025-05-04 09:50:20"), Some(true));
    // The reporting zone changes `local` only.
    let reporting = with(TimeFormat::Auto, Tz::UTC, Tz::Asia__Singapore);
    assert_eq!(rewritten(&reporting, "2025-05-04 09:50:20"), Some(false));
}

#[test]
fn the_canonical_text_is_pythons_str_of_datetime() {
    let text = |micros: i64| {
        let mut out = Vec::new();
        write_utc_text(micros, &mut out);
        String::from_utf8(out).unwrap()
    };
    assert_eq!(text(SAMPLE), "2025-05-04 09:50:20.784808");
    assert_eq!(text(SAMPLE - 784_808), "2025-05-04 09:50:20");
    assert_eq!(text(SAMPLE - 784_807), "2025-05-04 09:50:20.000001");
    assert_eq!(text(SAMPLE - 84_808), "2025-05-04 09:50:20.700000");
    assert_eq!(text(0), "1970-01-01 00:00:00");
    assert_eq!(text(-1), "1969-12-31 23:59:59.999999");
    assert_eq!(text(text::MAX_MICROS), "9999-12-31 23:59:59.999999");
    assert_eq!(text(at("0001-01-01 00:00:00")), "0001-01-01 00:00:00");
    // Round trip: the text of any instant parses back to it.
    for micros in [SAMPLE, 0, 951_782_400_000_000, 4_102_444_799_999_999] {
        assert_eq!(parse_timestamp(text(micros).as_bytes()), Some(micros));
    }
}

#[test]
fn the_reporting_zone_moves_the_wall_clock() {
    let singapore = with(TimeFormat::Auto, Tz::UTC, Tz::Asia__Singapore);
    let t = singapore.parse(b"2025-05-04 23:30:00").unwrap();
    assert_eq!(t.utc, at("2025-05-04 23:30:00"));
    // See: METRICS.md, Time zone (23:30 UTC is the next day in Singapore).
    assert_eq!(t.local, at("2025-05-05 07:30:00"));
    let t = singapore.parse(b"2025-05-05T07:30:00+08:00").unwrap();
    assert_eq!(t.local, at("2025-05-05 07:30:00"));
    // A zone-less time in the source zone, reported in another.
    let berlin_to_sg = with(TimeFormat::Auto, Tz::Europe__Berlin, Tz::Asia__Singapore);
    let t = berlin_to_sg.parse(b"2025-05-04 12:00:00").unwrap();
    assert_eq!(t.utc, at("2025-05-04 10:00:00"));
    assert_eq!(t.local, at("2025-05-04 18:00:00"));
}

/// Europe/Berlin: CET (+1) to CEST (+2) at 2025-03-30 01:00 UTC (02:00 local jumps to
/// 03:00), and back at 2025-10-26 01:00 UTC (03:00 local falls back to 02:00).
#[test]
fn berlin_is_right_on_both_sides_of_each_transition() {
    let berlin = with(TimeFormat::Auto, Tz::UTC, Tz::Europe__Berlin);
    let local = |t: &str| berlin.parse(t.as_bytes()).map(|t| t.local);
    for (instant, wall) in [
        ("2025-03-29T23:30:00Z", "2025-03-30 00:30:00"),
        ("2025-03-30T00:59:59.999999Z", "2025-03-30 01:59:59.999999"),
        ("2025-03-30T01:00:00Z", "2025-03-30 03:00:00"),
        ("2025-03-30T01:30:00Z", "2025-03-30 03:30:00"),
        ("2025-03-30T22:30:00Z", "2025-03-31 00:30:00"),
        ("2025-10-25T22:30:00Z", "2025-10-26 00:30:00"),
        ("2025-10-26T00:30:00Z", "2025-10-26 02:30:00"),
        ("2025-10-26T00:59:59Z", "2025-10-26 02:59:59"),
        ("2025-10-26T01:00:00Z", "2025-10-26 02:00:00"),
        ("2025-10-26T01:30:00Z", "2025-10-26 02:30:00"),
        ("2025-10-26T02:00:00Z", "2025-10-26 03:00:00"),
        ("2025-10-26T23:30:00Z", "2025-10-27 00:30:00"),
    ] {
        assert_eq!(local(instant), Some(at(wall)), "{instant}");
    }
    // The cache gives the same answers in any order, repeated.
    for _ in 0..3 {
        assert_eq!(
            local("2025-03-30T01:00:00Z"),
            Some(at("2025-03-30 03:00:00"))
        );
        assert_eq!(
            local("2025-03-30T00:59:59Z"),
            Some(at("2025-03-30 01:59:59"))
        );
    }
}

#[test]
fn zone_less_berlin_times_refuse_the_gap_and_take_the_earlier_of_two() {
    let berlin = with(TimeFormat::Auto, Tz::Europe__Berlin, Tz::Europe__Berlin);
    let parse = |t: &str| berlin.parse(t.as_bytes());
    let instant = |t: &str| parse(t).map(|t| t.utc);
    assert_eq!(
        instant("2025-03-30 01:59:59"),
        Some(at("2025-03-30 00:59:59"))
    );
    // See: README, Time formats: 02:00 to 02:59:59 does not exist on 2025-03-30.
    for gap in [
        "2025-03-30 02:00:00",
        "2025-03-30 02:30:00",
        "2025-03-30 02:59:59.999999",
    ] {
        assert_eq!(parse(gap), None, "{gap}");
    }
    assert_eq!(
        instant("2025-03-30 03:00:00"),
        Some(at("2025-03-30 01:00:00"))
    );
    // 02:00 to 02:59:59 happens twice on 2025-10-26: the first time (CEST) is taken.
    assert_eq!(
        instant("2025-10-26 01:59:59"),
        Some(at("2025-10-25 23:59:59"))
    );
    assert_eq!(
        instant("2025-10-26 02:00:00"),
        Some(at("2025-10-26 00:00:00"))
    );
    assert_eq!(
        instant("2025-10-26 02:30:00"),
        Some(at("2025-10-26 00:30:00"))
    );
    assert_eq!(
        instant("2025-10-26 03:00:00"),
        Some(at("2025-10-26 02:00:00"))
    );
    // The local wall clock is what was written (same zone both ways).
    assert_eq!(
        parse("2025-10-26 02:30:00").map(|t| t.local),
        Some(at("2025-10-26 02:30:00"))
    );
    // A time with an offset is never in a gap.
    assert_eq!(
        instant("2025-03-30T02:30:00+01:00"),
        Some(at("2025-03-30 01:30:00"))
    );
}

#[test]
fn zones_are_iana_names() {
    assert_eq!(parse_zone("Asia/Singapore"), Ok(Tz::Asia__Singapore));
    assert_eq!(parse_zone("UTC"), Ok(Tz::UTC));
    let err = parse_zone("asia/singapore").unwrap_err().to_string();
    assert!(err.contains("did you mean Asia/Singapore?"), "{err}");
    let err = parse_zone("Mars/Olympus\u{1b}[2J").unwrap_err().to_string();
    assert!(
        err.contains("Asia/Singapore") && err.contains("Europe/Berlin") && err.contains("\\u{1b}"),
        "{err}"
    );
}

#[test]
fn a_warehouse_keeps_the_zone_its_periods_are_cut_in() {
    use crate::warehouse::{BatchRecord, State};
    let singapore = with(TimeFormat::Auto, Tz::UTC, Tz::Asia__Singapore);
    let mut state = State::new();
    // Nothing loaded yet: any zone, recorded.
    assert_eq!(singapore.check_warehouse(&state), Ok(()));
    singapore.record(&mut state);
    state.batches.push(BatchRecord {
        batch_id: 1,
        loaded_at: 0,
        sources: vec![],
        rows: 1,
        quarantined: 0,
        new_in_gold: 1,
        status: "loaded".into(),
    });
    assert_eq!(singapore.check_warehouse(&state), Ok(()));
    let err = TimeOptions::default()
        .check_warehouse(&state)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("this warehouse cuts periods in Asia/Singapore; run with --timezone Asia/Singapore, or load into a new warehouse"),
        "{err}"
    );
    // A warehouse from before zones were recorded is UTC.
    state.timezone = None;
    assert_eq!(TimeOptions::default().check_warehouse(&state), Ok(()));
    assert!(singapore.check_warehouse(&state).is_err());
}
