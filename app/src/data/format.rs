//! Numbers and labels as people read them, shared by tooltips, tables, KPI cards:
//! thousands separators, rates as percentages, ratios with two decimals, a dash for
//! "no value". Written by hand (a few lines) rather than pulling a locale crate into the wasm.
//! Also the pipeline's words: run times, short row counts and a task's state line.

use contract::runs::TaskRow;

/// `12345` -> `"12,345"`, `-1234` -> `"-1,234"`.
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count with its sign: `"+12"`, `"-3"`, `"0"`.
pub fn signed(n: i64) -> String {
    if n > 0 {
        format!("+{}", count(n))
    } else {
        count(n)
    }
}

/// A number that may be fractional (miles, means): thousands separators, at most 2 decimals.
pub fn number(x: f64) -> String {
    if !x.is_finite() {
        return DASH.into();
    }
    let rounded = (x * 100.0).round() / 100.0;
    if rounded.fract() == 0.0 && rounded.abs() < 9.0e15 {
        return count(rounded as i64);
    }
    let whole = rounded.trunc() as i64;
    let frac = format!("{:.2}", rounded.abs().fract());
    let sign = if rounded < 0.0 && whole == 0 { "-" } else { "" };
    format!(
        "{sign}{}{}",
        count(whole),
        frac.trim_start_matches('0').trim_end_matches('0')
    )
}

/// A percentage given on the 0..100 scale: `42.857` -> `"42.9%"`.
pub fn percent(pct: f64) -> String {
    if !pct.is_finite() {
        return DASH.into();
    }
    format!("{pct:.1}%")
}

/// A share given on the 0..1 scale: `0.4330` -> `"43.3%"`.
pub fn share(fraction: f64) -> String {
    percent(fraction * 100.0)
}

/// A quick ratio: two decimals; none when nobody churned (METRICS.md: null when churned = 0).
pub fn ratio(q: Option<f64>) -> String {
    match q {
        Some(q) if q.is_finite() => format!("{q:.2}"),
        _ => "n/a (no churn)".into(),
    }
}

/// Shown where a value does not exist (censored retention, no data).
pub const DASH: &str = "—";

/// `Some(x)` formatted by `f`, or a dash.
pub fn or_dash<T>(value: Option<T>, f: impl Fn(T) -> String) -> String {
    value.map_or_else(|| DASH.to_string(), f)
}

/// A change between two values as a percentage of the earlier one (`None` from zero).
pub fn change_pct(now: f64, before: f64) -> Option<f64> {
    (before != 0.0).then(|| (now - before) / before.abs() * 100.0)
}

/// A signed percentage change: `"+12.5%"`, `"-3.0%"`.
pub fn signed_percent(pct: f64) -> String {
    if pct > 0.0 {
        format!("+{pct:.1}%")
    } else {
        format!("{pct:.1}%")
    }
}

/// Data-derived text as Plotly must get it, wherever it shows text (trace names in the
/// legend, Sankey labels, category ticks, titles, hover templates and the `customdata` they
/// show). Plotly renders its pseudo-HTML (`<a href>`, `<b>`, `<span style>`, `<br>`...) in
/// all of those, so a category `<a href=...>` would become a live link; it decodes
/// `&lt;` `&gt;` `&amp;` and numeric entities after parsing tags, so escaping `&`, `<`, `>`
/// shows the text as written. `%{` is written `&#37;{` so a hover template does not read it
/// as a placeholder (substitution runs before entities are decoded). `"` needs nothing:
/// with no `<` left, the text can never be inside a tag's attribute.
pub fn plotly_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '%' if chars.peek() == Some(&'{') => out.push_str("&#37;"),
            c => out.push(c),
        }
    }
    out
}

/// The inverse of [`plotly_text`], for the names Plotly hands back in click and legend
/// events (they are the escaped strings we gave it, and the pages match them against data).
pub fn plotly_text_decode(text: &str) -> String {
    const ENTITIES: [(&str, char); 4] =
        [("&amp;", '&'), ("&lt;", '<'), ("&gt;", '>'), ("&#37;", '%')];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        match ENTITIES.iter().find(|(e, _)| rest.starts_with(e)) {
            Some((entity, c)) => {
                out.push(*c);
                rest = &rest[entity.len()..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The second line of a task's box: its state, and its rows (or time) once it has them.
pub fn task_line(task: &TaskRow) -> String {
    let state = task.state.name().replace('_', " ");
    match (task.rows, task.seconds) {
        (Some(rows), _) => format!("{state} · {} rows", compact(rows)),
        (None, Some(s)) => format!("{state} · {}", duration(s)),
        (None, None) => state,
    }
}

/// A task's state, rows and time in full, for its box's title and screen readers.
pub fn task_details(task: &TaskRow) -> String {
    let mut parts = vec![task.state.name().replace('_', " ")];
    if let Some(rows) = task.rows {
        parts.push(format!("{} rows", count(rows as i64)));
    }
    if let Some(s) = task.seconds {
        parts.push(duration(s));
    }
    parts.join(", ")
}

/// A count in at most four characters, for the boxes (the details show it in full):
/// `455`, `6.1k`, `10k`, `1.4M`.
pub fn compact(n: u64) -> String {
    let short = |x: f64, unit: &str| {
        if x < 9.95 {
            format!("{:.1}{unit}", x)
        } else {
            format!("{:.0}{unit}", x)
        }
    };
    match n {
        0..1_000 => n.to_string(),
        1_000..999_500 => short(n as f64 / 1e3, "k"),
        999_500..999_500_000 => short(n as f64 / 1e6, "M"),
        _ => short(n as f64 / 1e9, "G"),
    }
}

/// Seconds as people read a run's time: `"87 ms"`, `"9.4 s"`, `"2 min 05 s"`.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return DASH.into();
    }
    if seconds < 0.9995 {
        return format!("{:.0} ms", seconds * 1000.0);
    }
    if seconds < 60.0 {
        return format!("{seconds:.1} s");
    }
    let whole = seconds.round() as u64;
    let (h, m, s) = (whole / 3600, whole / 60 % 60, whole % 60);
    if h > 0 {
        format!("{h} h {m:02} min")
    } else {
        format!("{m} min {s:02} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::fixtures::task;

    #[test]
    fn labels_and_durations() {
        let mut t = task("silver", &[]);
        assert_eq!(task_line(&t), "success · 500 ms");
        t.rows = Some(12_345);
        assert_eq!(task_line(&t), "success · 12k rows");
        t.state = contract::runs::TaskState::UpForRetry;
        t.rows = None;
        t.seconds = None;
        assert_eq!(task_line(&t), "up for retry");
        assert_eq!(duration(9.44), "9.4 s");
        assert_eq!(duration(0.087), "87 ms");
        assert_eq!(duration(0.9999), "1.0 s");
        assert_eq!(duration(125.0), "2 min 05 s");
        assert_eq!(duration(3725.0), "1 h 02 min");
        assert_eq!(duration(f64::NAN), DASH);
        assert_eq!(task_details(&task("gold", &[])), "success, 500 ms");
        assert_eq!(compact(455), "455");
        assert_eq!(compact(6_090), "6.1k");
        assert_eq!(compact(10_000), "10k");
        assert_eq!(compact(999_999), "1.0M");
        assert_eq!(compact(12_345_678), "12M");
    }

    #[test]
    fn counts_get_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(count(-1234), "-1,234");
        assert_eq!(count(i64::MIN), "-9,223,372,036,854,775,808");
    }

    #[test]
    fn signs_and_numbers() {
        assert_eq!(signed(12), "+12");
        assert_eq!(signed(-3000), "-3,000");
        assert_eq!(signed(0), "0");
        assert_eq!(number(129729.0), "129,729");
        assert_eq!(number(1234.5), "1,234.5");
        assert_eq!(number(-0.25), "-0.25");
        assert_eq!(number(f64::NAN), DASH);
    }

    #[test]
    fn rates_and_ratios() {
        assert_eq!(percent(42.857142), "42.9%");
        assert_eq!(percent(100.0), "100.0%");
        assert_eq!(share(0.433045), "43.3%");
        assert_eq!(ratio(Some(1.0 / 3.0)), "0.33");
        assert_eq!(ratio(None), "n/a (no churn)");
        assert_eq!(or_dash(None::<f64>, percent), DASH);
        assert_eq!(change_pct(110.0, 100.0), Some(10.0));
        assert_eq!(change_pct(5.0, 0.0), None);
        assert_eq!(signed_percent(-3.04), "-3.0%");
    }

    #[test]
    fn plotly_text_cannot_inject_markup_or_placeholders() {
        assert_eq!(plotly_text("50% %{y} <b>"), "50% &#37;{y} &lt;b&gt;");
        assert_eq!(
            plotly_text(r#"<a href="https://example.com/">x</a>"#),
            r#"&lt;a href="https://example.com/"&gt;x&lt;/a&gt;"#
        );
        // Text that already looks like an entity is shown as written, not decoded.
        assert_eq!(plotly_text("food &amp; drink"), "food &amp;amp; drink");
        assert_eq!(plotly_text("plain text, 100%"), "plain text, 100%");
    }

    #[test]
    fn decoding_undoes_plotly_text() {
        for text in [
            "",
            "plain",
            r#"<a href="https://example.com/">x</a>"#,
            "<b>bold</b> & <span style=\"position:fixed\">cover</span>",
            "&amp; &lt; &#37;{y} %{x} % { &",
            "&&;&#;&#37",
            "ünï & cödé <",
        ] {
            assert_eq!(plotly_text_decode(&plotly_text(text)), text, "{text}");
        }
        // A lone `&` that starts no entity stays as it is.
        assert_eq!(plotly_text_decode("a & b &x;"), "a & b &x;");
    }
}
