//! A user's growth status in a period, as the lifecycle tables store it, the growth marts
//! count it and the dashboard colours, clicks and drills it. See: METRICS.md, Growth accounting.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A growth status. The order is the growth chart's stacking order and the server's
/// column order (new, retained, resurrected, churned).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    New,
    Retained,
    Resurrected,
    Churned,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::New,
        Status::Retained,
        Status::Resurrected,
        Status::Churned,
    ];

    /// `new`, `retained`, ...: the lifecycle tables' value, in URLs and file paths.
    pub const fn name(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Retained => "retained",
            Status::Resurrected => "resurrected",
            Status::Churned => "churned",
        }
    }

    /// Every status's name, in [`Status::ALL`]'s order (the lifecycle tables' accepted values).
    pub const NAMES: [&'static str; 4] = {
        let mut names = [""; 4];
        let mut i = 0;
        while i < names.len() {
            names[i] = Status::ALL[i].name();
            i += 1;
        }
        names
    };

    /// The growth chart's series name for it.
    pub fn label(self) -> &'static str {
        match self {
            Status::New => "New",
            Status::Retained => "Retained",
            Status::Resurrected => "Resurrected",
            Status::Churned => "Churned",
        }
    }

    /// Its position in [`Status::ALL`] (a compact code in the server's per-user arrays).
    pub const fn index(self) -> usize {
        self as usize
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    pub fn from_label(label: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.label() == label)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_by_name_label_and_index() {
        for (i, s) in Status::ALL.into_iter().enumerate() {
            assert_eq!(s.index(), i);
            assert_eq!(Status::parse(s.name()), Some(s));
            assert_eq!(Status::from_label(s.label()), Some(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.name())
            );
        }
        assert_eq!(Status::parse("New"), None);
    }
}
