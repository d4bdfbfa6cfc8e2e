//! Numbers and labels as people read them, shared by tooltips, tables, KPI cards:
//! thousands separators, rates as percentages, ratios with two decimals, a dash for
//! "no value". Written by hand (a few lines) rather than pulling a locale crate into the wasm.

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

#[cfg(test)]
mod tests {
    use super::*;

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
