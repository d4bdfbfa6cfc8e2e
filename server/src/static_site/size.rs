//! The static site's size: what each part of an export weighs, and the limits static hosts
//! put on a whole site and on one file. In: every file the export writes, tagged with its
//! [`Part`] by the code that writes it; out: a [`SizeReport`] (`heymax export` prints it) or
//! an [`OverLimit`] refusal, decided before the new site replaces the old one, so a refused
//! export changes nothing.
//!
//! Why tag each file as it is written rather than sort the folder by path afterwards: the
//! writer knows what it writes, while the bundle's file names are content-hashed and a path
//! rule would drift from `contract::paths`.

use std::fmt;
use std::str::FromStr;

const KB: u64 = 1000;
const KIB: u64 = 1024;

/// The units a size flag takes: powers of 1000 (hosts quote their limits so, as GitHub's
/// "1 GB") and of 1024 (Cloudflare's "25 MiB"), named case-insensitively.
const UNITS: [(&str, u64); 9] = [
    ("B", 1),
    ("KB", KB),
    ("MB", KB * KB),
    ("GB", KB * KB * KB),
    ("TB", KB * KB * KB * KB),
    ("KiB", KIB),
    ("MiB", KIB * KIB),
    ("GiB", KIB * KIB * KIB),
    ("TiB", KIB * KIB * KIB * KIB),
];

/// How many of the largest files a report lists.
pub const LARGEST: usize = 5;

/// A number of bytes, as `--max-size` and `--max-file-size` take it: `1GB`, `500 MB`,
/// `25MiB`, `1.5GB` or `1000000` (bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// GitHub Pages publishes sites of at most 1 GB.
    pub const GITHUB_PAGES_SITE: ByteSize = ByteSize(KB * KB * KB);
    /// Cloudflare Pages takes files of at most 25 MiB (GitHub Pages has no smaller limit).
    pub const CLOUDFLARE_PAGES_FILE: ByteSize = ByteSize(25 * KIB * KIB);
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ByteSizeError {
    #[error(
        "{0:?} is not a size: write a number and a unit, such as 1GB, 500MB, 25MiB, or a number of bytes"
    )]
    NotANumber(String),
    #[error(
        "{0:?} is not a unit heymax knows: use B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024)"
    )]
    UnknownUnit(String),
    #[error("{0:?} is not a whole number of bytes: use a smaller unit")]
    Fraction(String),
    #[error("{0:?} is too large: at most 16 EiB")]
    TooLarge(String),
    #[error("a size limit of 0 would refuse every site: give a size above 0")]
    Zero,
}

impl FromStr for ByteSize {
    type Err = ByteSizeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        // Errors quote the input, which comes from the command line or the environment.
        let quoted = || text.chars().take(40).collect::<String>();
        let text = text.trim();
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, unit) = (&text[..split], text[split..].trim());
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits_ok(whole) || !digits_ok(fraction) {
            return Err(ByteSizeError::NotANumber(quoted()));
        }
        let factor = unit_factor(unit)
            .ok_or_else(|| ByteSizeError::UnknownUnit(unit.chars().take(40).collect()))?;
        // Only digits are left: what fails to parse or multiply is too large for u128.
        let too_large = || ByteSizeError::TooLarge(quoted());
        let scale = u32::try_from(fraction.len())
            .ok()
            .and_then(|n| 10u128.checked_pow(n))
            .ok_or_else(too_large)?;
        let scaled = format!("{whole}{fraction}")
            .parse::<u128>()
            .ok()
            .and_then(|n| n.checked_mul(u128::from(factor)))
            .ok_or_else(too_large)?;
        if scaled % scale != 0 {
            return Err(ByteSizeError::Fraction(quoted()));
        }
        let bytes = u64::try_from(scaled / scale).map_err(|_| too_large())?;
        if bytes == 0 {
            return Err(ByteSizeError::Zero);
        }
        Ok(ByteSize(bytes))
    }
}

/// The bytes in one `unit` (no unit: bytes).
fn unit_factor(unit: &str) -> Option<u64> {
    if unit.is_empty() {
        return Some(1);
    }
    UNITS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(unit))
        .map(|&(_, factor)| factor)
}

/// Exactly, in the largest unit that divides it (`1 GB`, `25 MiB`, `1234 B`), so a limit
/// reads as its flag was written and parses back to the same number (clap shows and parses
/// the default this way).
impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, factor) = UNITS
            .iter()
            .filter(|(_, factor)| self.0.is_multiple_of(*factor))
            .max_by_key(|(_, factor)| *factor)
            .copied()
            .unwrap_or(("B", 1));
        write!(f, "{} {name}", self.0 / factor)
    }
}

/// A measured size for people: `950 B`, `12.3 KB`, `1.6 MB`, in powers of 1000.
pub fn human(bytes: u64) -> String {
    if bytes < KB {
        return format!("{bytes} B");
    }
    let units = [("KB", KB), ("MB", KB * KB), ("GB", KB * KB * KB)];
    for (name, factor) in units {
        let tenths = (bytes as f64 / factor as f64 * 10.0).round();
        // 999,960 bytes is "1.0 MB", not "1000.0 KB".
        if tenths < 10_000.0 {
            return format!("{:.1} {name}", tenths / 10.0);
        }
    }
    let (name, factor) = ("TB", KB * KB * KB * KB);
    format!("{:.1} {name}", bytes as f64 / factor as f64)
}

/// `12345` -> `12,345`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What a file of the site is, by the code that writes it (the paths of `contract::paths`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    /// `index.html` of each page and `404.html`.
    Pages,
    /// The browser bundle: wasm, its JS glue, CSS, Plotly.js, the favicon.
    Bundle,
    /// `data/marts/<name>.json`.
    Marts,
    /// `data/drill/...`: the users behind each number.
    Drill,
    /// `data/runs.json` and `data/runs/<id>.json`.
    Runs,
    /// `.nojekyll` and the export's marker.
    Host,
}

impl Part {
    pub fn name(self) -> &'static str {
        match self {
            Part::Pages => "pages (HTML)",
            Part::Bundle => "browser bundle (wasm, JS, CSS, Plotly)",
            Part::Marts => "marts data",
            Part::Drill => "drill-down data",
            Part::Runs => "run history",
            Part::Host => "host files (.nojekyll, marker)",
        }
    }

    /// What makes this part smaller, for a site that does not fit.
    fn advice(self) -> &'static str {
        match self {
            Part::Drill => {
                "the drill-down data lists the users behind every number of every period, so it grows with users and months: export a warehouse loaded with fewer months of events"
            }
            Part::Pages | Part::Marts => {
                "the pages and marts grow with the periods and countries: export a warehouse loaded with fewer months of events"
            }
            Part::Bundle => {
                "the browser bundle does not depend on the data: leave out --dist, or rebuild the bundle with `scripts/bundle.py` (it runs wasm-opt)"
            }
            Part::Runs => {
                "the run history holds the recent runs' tasks: export from a warehouse with fewer runs"
            }
            Part::Host => "the host files are a few bytes: this is a bug, please report it",
        }
    }
}

/// One file as written: its path inside the site, its part and its size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSize {
    pub path: String,
    pub part: Part,
    pub bytes: u64,
}

/// Every file written so far (kept whole until the limits are checked, which count the
/// files over the per-file limit).
#[derive(Debug, Default)]
pub struct SiteSize {
    files: Vec<FileSize>,
}

impl SiteSize {
    pub fn add(&mut self, path: &str, part: Part, bytes: u64) {
        self.files.push(FileSize {
            path: path.to_string(),
            part,
            bytes,
        });
    }

    /// The totals by part (largest first) and the [`LARGEST`] largest files.
    pub fn report(&self) -> SizeReport {
        let mut parts: Vec<PartSize> = Vec::new();
        for file in &self.files {
            match parts.iter_mut().find(|p| p.part == file.part) {
                Some(p) => {
                    p.files += 1;
                    p.bytes += file.bytes;
                }
                None => parts.push(PartSize {
                    part: file.part,
                    files: 1,
                    bytes: file.bytes,
                }),
            }
        }
        // Ties in the order of `Part`, so two exports of one warehouse print the same.
        parts.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.part.cmp(&b.part)));
        let mut largest: Vec<&FileSize> = self.files.iter().collect();
        largest.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.path.cmp(&b.path)));
        SizeReport {
            total: self.files.iter().map(|f| f.bytes).sum(),
            files: self.files.len(),
            parts,
            largest: largest.into_iter().take(LARGEST).cloned().collect(),
        }
    }

    fn files_over(&self, limit: ByteSize) -> usize {
        self.files.iter().filter(|f| f.bytes > limit.0).count()
    }
}

/// One part's files and bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartSize {
    pub part: Part,
    pub files: usize,
    pub bytes: u64,
}

/// What a site weighs: in total, by part, and its largest files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SizeReport {
    pub total: u64,
    pub files: usize,
    /// Largest first; parts without files are left out.
    pub parts: Vec<PartSize>,
    /// The [`LARGEST`] largest files, largest first.
    pub largest: Vec<FileSize>,
}

/// The parts as a table and the largest files, one per line, indented.
impl fmt::Display for SizeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.parts.iter().map(|p| p.part.name().len()).max();
        let width = width.unwrap_or(0);
        writeln!(f, "  by part:")?;
        for p in &self.parts {
            // Rounded to the nearest percent.
            let share = (p.bytes.saturating_mul(100) + self.total / 2) / self.total.max(1);
            writeln!(
                f,
                "    {:<width$}  {:>9} files  {:>9}  {share:>3}%",
                p.part.name(),
                thousands(p.files),
                human(p.bytes),
            )?;
        }
        write!(f, "  largest files:")?;
        for file in &self.largest {
            write!(f, "\n    {:>9}  {}", human(file.bytes), file.path)?;
        }
        Ok(())
    }
}

/// The largest site and the largest file an export may write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SizeLimits {
    pub max_size: ByteSize,
    pub max_file_size: ByteSize,
}

impl Default for SizeLimits {
    fn default() -> Self {
        SizeLimits {
            max_size: ByteSize::GITHUB_PAGES_SITE,
            max_file_size: ByteSize::CLOUDFLARE_PAGES_FILE,
        }
    }
}

impl SizeLimits {
    /// The site's report if it fits both limits, else the refusal (a site at a limit fits).
    pub fn check(&self, size: &SiteSize) -> Result<SizeReport, Box<OverLimit>> {
        let report = size.report();
        let files_over = size.files_over(self.max_file_size);
        if report.total <= self.max_size.0 && files_over == 0 {
            return Ok(report);
        }
        Err(Box::new(OverLimit {
            report,
            limits: *self,
            files_over,
        }))
    }
}

/// A site over `--max-size`, or with files over `--max-file-size`, or both.
#[derive(Debug)]
pub struct OverLimit {
    pub report: SizeReport,
    pub limits: SizeLimits,
    /// How many files are over `--max-file-size`.
    pub files_over: usize,
}

impl OverLimit {
    pub fn site_over(&self) -> bool {
        self.report.total > self.limits.max_size.0
    }

    /// The part to shrink first: the largest file's part when only files are over, else the
    /// largest part.
    fn culprit(&self) -> Option<Part> {
        if self.site_over() {
            self.report.parts.first().map(|p| p.part)
        } else {
            self.report.largest.first().map(|f| f.part)
        }
    }
}

impl std::error::Error for OverLimit {}

/// Which limits were passed and by how much, the parts and files, and what to do.
impl fmt::Display for OverLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (report, limits) = (&self.report, &self.limits);
        let mut passed = Vec::new();
        if self.site_over() {
            passed.push(format!(
                "the site would be {} in {} files, over --max-size {} by {}",
                human(report.total),
                thousands(report.files),
                limits.max_size,
                human(report.total - limits.max_size.0),
            ));
        }
        if let Some(file) = report.largest.first().filter(|_| self.files_over > 0) {
            passed.push(format!(
                "{} over --max-file-size {}, the largest {} ({}, over by {})",
                match self.files_over {
                    1 => "1 file is".to_string(),
                    n => format!("{} files are", thousands(n)),
                },
                limits.max_file_size,
                file.path,
                human(file.bytes),
                human(file.bytes.saturating_sub(limits.max_file_size.0)),
            ));
        }
        writeln!(
            f,
            "refusing to write the site: {}; nothing was written, the output folder is as it was",
            passed.join("; and ")
        )?;
        writeln!(f, "{report}")?;
        write!(f, "  what to do: ")?;
        if let Some(part) = self.culprit() {
            write!(f, "{}; ", part.advice())?;
        }
        let mut raise = Vec::new();
        if self.site_over() {
            raise.push("--max-size");
        }
        if self.files_over > 0 {
            raise.push("--max-file-size");
        }
        write!(
            f,
            "or raise {} if your host allows it (GitHub Pages: sites up to 1 GB; Cloudflare Pages: files up to 25 MiB)",
            raise.join(" and ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn size(text: &str) -> Result<u64, ByteSizeError> {
        text.parse::<ByteSize>().map(|s| s.0)
    }

    #[test]
    fn sizes_parse_in_bytes_and_in_powers_of_1000_and_1024() {
        assert_eq!(size("1000000"), Ok(1_000_000));
        assert_eq!(size("1GB"), Ok(1_000_000_000));
        assert_eq!(size("500MB"), Ok(500_000_000));
        assert_eq!(size("25MiB"), Ok(25 * 1024 * 1024));
        assert_eq!(size(" 1.5 gb "), Ok(1_500_000_000));
        assert_eq!(size("2kib"), Ok(2048));
        assert_eq!(size("7B"), Ok(7));
        assert_eq!(size("1TiB"), Ok(1 << 40));
        assert_eq!(size("0.5KB"), Ok(500));
    }

    #[test]
    fn bad_sizes_say_what_is_wrong() {
        for (text, expected) in [
            ("", ByteSizeError::NotANumber("".into())),
            ("GB", ByteSizeError::NotANumber("GB".into())),
            ("1.2.3MB", ByteSizeError::NotANumber("1.2.3MB".into())),
            (".5GB", ByteSizeError::NotANumber(".5GB".into())),
            ("-1GB", ByteSizeError::NotANumber("-1GB".into())),
            ("12XB", ByteSizeError::UnknownUnit("XB".into())),
            ("1 G", ByteSizeError::UnknownUnit("G".into())),
            ("1GB extra", ByteSizeError::UnknownUnit("GB extra".into())),
            ("1.5", ByteSizeError::Fraction("1.5".into())),
            ("0.0001KB", ByteSizeError::Fraction("0.0001KB".into())),
            ("0MB", ByteSizeError::Zero),
            ("20000000TB", ByteSizeError::TooLarge("20000000TB".into())),
            (
                "99999999999999999999999999999999",
                ByteSizeError::TooLarge("99999999999999999999999999999999".into()),
            ),
        ] {
            assert_eq!(size(text), Err(expected), "{text:?}");
        }
        let message = size("12XB").unwrap_err().to_string();
        assert!(
            message.contains("MiB") && message.contains("GB"),
            "{message}"
        );
    }

    #[test]
    fn a_limit_displays_exactly_in_its_largest_unit() {
        assert_eq!(ByteSize::GITHUB_PAGES_SITE.to_string(), "1 GB");
        assert_eq!(ByteSize::CLOUDFLARE_PAGES_FILE.to_string(), "25 MiB");
        assert_eq!(ByteSize(1234).to_string(), "1234 B");
        assert_eq!(ByteSize(1_500_000).to_string(), "1500 KB");
    }

    proptest! {
        /// clap shows a default with Display and parses it back: the two must agree.
        #[test]
        fn a_displayed_size_parses_back_to_itself(bytes in 1u64..) {
            prop_assert_eq!(size(&ByteSize(bytes).to_string()), Ok(bytes));
        }
    }

    #[test]
    fn measured_sizes_read_in_powers_of_1000() {
        assert_eq!(human(0), "0 B");
        assert_eq!(human(999), "999 B");
        assert_eq!(human(1000), "1.0 KB");
        assert_eq!(human(12_345), "12.3 KB");
        assert_eq!(human(999_960), "1.0 MB");
        assert_eq!(human(1_599_450), "1.6 MB");
        assert_eq!(human(2_500_000_000), "2.5 GB");
        assert_eq!(human(3_000_000_000_000), "3.0 TB");
    }

    fn sample() -> SiteSize {
        let mut size = SiteSize::default();
        size.add("index.html", Part::Pages, 3_000);
        size.add("hydrate_bg.wasm", Part::Bundle, 1_600_000);
        size.add("plotly.min.js", Part::Bundle, 1_300_000);
        size.add("data/marts/user_retention.json", Part::Marts, 40_000);
        for i in 0..10 {
            size.add(
                &format!("data/drill/day/{i}/new.json"),
                Part::Drill,
                500_000,
            );
        }
        size.add(".nojekyll", Part::Host, 0);
        size
    }

    #[test]
    fn the_report_sums_each_part_and_lists_the_largest_files() {
        let report = sample().report();
        assert_eq!(report.total, 3_000 + 2_900_000 + 40_000 + 5_000_000);
        assert_eq!(report.files, 15);
        let parts: Vec<_> = report
            .parts
            .iter()
            .map(|p| (p.part, p.files, p.bytes))
            .collect();
        assert_eq!(
            parts,
            [
                (Part::Drill, 10, 5_000_000),
                (Part::Bundle, 2, 2_900_000),
                (Part::Marts, 1, 40_000),
                (Part::Pages, 1, 3_000),
                (Part::Host, 1, 0),
            ]
        );
        let largest: Vec<_> = report.largest.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            largest,
            [
                "hydrate_bg.wasm",
                "plotly.min.js",
                "data/drill/day/0/new.json",
                "data/drill/day/1/new.json",
                "data/drill/day/2/new.json",
            ]
        );
        let text = report.to_string();
        assert!(text.contains("drill-down data"), "{text}");
        assert!(text.contains("5.0 MB") && text.contains("63%"), "{text}");
        assert!(text.contains("1.6 MB  hydrate_bg.wasm"), "{text}");
    }

    #[test]
    fn a_site_at_its_limits_fits() {
        let limits = SizeLimits {
            max_size: ByteSize(7_943_000),
            max_file_size: ByteSize(1_600_000),
        };
        assert!(limits.check(&sample()).is_ok());
        assert!(SizeLimits::default().check(&sample()).is_ok());
    }

    #[test]
    fn a_site_over_max_size_is_refused_with_the_limit_the_excess_and_the_largest_part() {
        let limits = SizeLimits {
            max_size: ByteSize(7_000_000),
            ..SizeLimits::default()
        };
        let refusal = limits.check(&sample()).unwrap_err();
        assert!(refusal.site_over());
        assert_eq!(refusal.files_over, 0);
        let text = refusal.to_string();
        assert!(
            text.contains("the site would be 7.9 MB in 15 files, over --max-size 7 MB by 943.0 KB"),
            "{text}"
        );
        assert!(!text.contains("--max-file-size"), "{text}");
        assert!(text.contains("fewer months"), "drill advice: {text}");
        assert!(text.contains("raise --max-size"), "{text}");
        assert!(text.contains("hydrate_bg.wasm"), "largest files: {text}");
    }

    #[test]
    fn a_file_over_max_file_size_is_refused_with_the_file_and_its_excess() {
        let limits = SizeLimits {
            max_file_size: ByteSize(1_000_000),
            ..SizeLimits::default()
        };
        let refusal = limits.check(&sample()).unwrap_err();
        assert!(!refusal.site_over());
        assert_eq!(refusal.files_over, 2);
        let text = refusal.to_string();
        assert!(
            text.contains(
                "2 files are over --max-file-size 1 MB, the largest hydrate_bg.wasm (1.6 MB, over by 600.0 KB)"
            ),
            "{text}"
        );
        assert!(!text.contains("--max-size"), "{text}");
        assert!(text.contains("scripts/bundle.py"), "bundle advice: {text}");
        assert!(text.contains("raise --max-file-size"), "{text}");
    }

    #[test]
    fn both_limits_passed_are_named() {
        let limits = SizeLimits {
            max_size: ByteSize(1_000),
            max_file_size: ByteSize(1_000),
        };
        let text = limits.check(&sample()).unwrap_err().to_string();
        assert!(
            text.contains("--max-size 1 KB by") && text.contains("14 files are over"),
            "{text}"
        );
        assert!(
            text.contains("raise --max-size and --max-file-size"),
            "{text}"
        );
    }
}
