//! A chart's data as a table: shown under the chart on demand (and always in the
//! server-rendered HTML, so it reads without JavaScript), and as a CSV download.

use leptos::prelude::*;

/// Column names, the cells as displayed, and the raw cells the CSV gets.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TableData {
    pub columns: Vec<String>,
    pub shown: Vec<Vec<String>>,
    pub raw: Vec<Vec<String>>,
}

impl TableData {
    pub fn new(columns: &[&str]) -> Self {
        Self {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            ..Self::default()
        }
    }

    /// Adds a row: `(shown, raw)` per cell.
    pub fn push(&mut self, cells: Vec<(String, String)>) {
        let (shown, raw) = cells.into_iter().unzip();
        self.shown.push(shown);
        self.raw.push(raw);
    }

    /// RFC 4180 CSV of the raw cells, header first. A cell a spreadsheet would run as a
    /// formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a `'`
    /// in front and is quoted, as OWASP's CSV-injection guidance says; numbers such as
    /// `-12.5` stay as they are, so they still read as numbers.
    pub fn csv(&self) -> String {
        fn field(text: &str) -> String {
            let formula = text.starts_with(['=', '+', '-', '@', '\t', '\r'])
                && !text.parse::<f64>().is_ok_and(f64::is_finite);
            if formula {
                format!("\"'{}\"", text.replace('"', "\"\""))
            } else if text.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", text.replace('"', "\"\""))
            } else {
                text.to_string()
            }
        }
        let mut out = String::new();
        for line in std::iter::once(&self.columns).chain(self.raw.iter()) {
            out.push_str(&line.iter().map(|c| field(c)).collect::<Vec<_>>().join(","));
            out.push('\n');
        }
        out
    }

    /// The CSV as a `data:` URL, so the download link works without JavaScript.
    pub fn csv_href(&self) -> String {
        let mut href = String::from("data:text/csv;charset=utf-8,");
        for b in self.csv().bytes() {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                href.push(b as char);
            } else {
                href.push_str(&format!("%{b:02X}"));
            }
        }
        href
    }
}

/// A plain table; numbers right-aligned by the `num` class on every cell but the first.
#[component]
pub fn DataTable(#[prop(into)] data: Signal<TableData>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="data">
                <thead>
                    <tr>{move || data.with(|d| d.columns.iter().map(|c| view! { <th scope="col">{c.clone()}</th> }).collect_view())}</tr>
                </thead>
                <tbody>
                    {move || data.with(|d| {
                        d.shown
                            .iter()
                            .map(|row| view! {
                                <tr>{row.iter().map(|cell| view! { <td>{cell.clone()}</td> }).collect_view()}</tr>
                            })
                            .collect_view()
                    })}
                </tbody>
            </table>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting_and_the_href_encodes_it() {
        let mut t = TableData::new(&["period", "note"]);
        t.push(vec![
            ("2025-03-07".into(), "2025-03-07".into()),
            ("1,234".into(), "say \"hi\", ok".into()),
        ]);
        assert_eq!(t.csv(), "period,note\n2025-03-07,\"say \"\"hi\"\", ok\"\n");
        assert!(
            t.csv_href()
                .starts_with("data:text/csv;charset=utf-8,period%2Cnote%0A2025-03-07%2C")
        );
    }

    #[test]
    fn csv_neutralises_formula_prefixes_but_keeps_negative_numbers() {
        let mut t = TableData::new(&["cell"]);
        for cell in [
            "=HYPERLINK(\"https://example.com/\",\"x\")",
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\tcmd",
            "\rcmd",
            "-inf",
            "-",
            "-12.5",
            "+3",
            "-1e3",
            "a=b",
        ] {
            t.push(vec![(cell.into(), cell.into())]);
        }
        let csv = t.csv();
        let lines: Vec<&str> = csv.split('\n').collect();
        assert_eq!(
            lines,
            [
                "cell",
                "\"'=HYPERLINK(\"\"https://example.com/\"\",\"\"x\"\")\"",
                "\"'+1+1\"",
                "\"'-2+3\"",
                "\"'@SUM(A1)\"",
                "\"'\tcmd\"",
                "\"'\rcmd\"",
                "\"'-inf\"",
                "\"'-\"",
                "-12.5",
                "+3",
                "-1e3",
                "a=b",
                "",
            ]
        );
    }
}
