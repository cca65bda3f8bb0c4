//! Periods: a year (`2022`), a span of years (`2020..2024`), a month (`2019-10`) or a span of
//! months (`2019-01..2019-10`). Both ends are inclusive. The canonical text form is the shortest
//! of these that names the same months, and it is what the API and the database store.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// A calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct YearMonth {
    /// Year, 1949..=2100.
    pub year: i32,
    /// Month, 1..=12.
    pub month: u32,
}

impl YearMonth {
    /// Checks the ranges.
    pub fn new(year: i32, month: u32) -> Result<Self, ValidationError> {
        if !(1949..=2100).contains(&year) {
            return Err(ValidationError::new(
                "period",
                "BAD_PERIOD",
                format!("year {year} is out of range"),
            ));
        }
        if !(1..=12).contains(&month) {
            return Err(ValidationError::new(
                "period",
                "BAD_PERIOD",
                format!("month {month} is out of range"),
            ));
        }
        Ok(Self { year, month })
    }
}

/// An inclusive span of months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Period {
    /// First month.
    pub start: YearMonth,
    /// Last month (not before `start`).
    pub end: YearMonth,
}

impl Period {
    /// A whole calendar year.
    pub fn year(year: i32) -> Result<Self, ValidationError> {
        Ok(Self {
            start: YearMonth::new(year, 1)?,
            end: YearMonth::new(year, 12)?,
        })
    }

    /// Whole years `from..=to`.
    pub fn years(from: i32, to: i32) -> Result<Self, ValidationError> {
        Self::new(YearMonth::new(from, 1)?, YearMonth::new(to, 12)?)
    }

    /// A span; `end` must not precede `start`.
    pub fn new(start: YearMonth, end: YearMonth) -> Result<Self, ValidationError> {
        if end < start {
            return Err(ValidationError::new(
                "period",
                "BAD_PERIOD",
                "the period ends before it starts",
            ));
        }
        Ok(Self { start, end })
    }

    /// True when `other` lies entirely inside `self`.
    pub fn contains(&self, other: &Period) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    /// True when the period is exactly one calendar year; returns that year.
    pub fn single_year(&self) -> Option<i32> {
        (self.start.year == self.end.year && self.start.month == 1 && self.end.month == 12)
            .then_some(self.start.year)
    }

    /// True when the period covers whole years only.
    pub fn whole_years(&self) -> bool {
        self.start.month == 1 && self.end.month == 12
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, e) = (self.start, self.end);
        if self.whole_years() {
            if s.year == e.year {
                write!(f, "{}", s.year)
            } else {
                write!(f, "{}..{}", s.year, e.year)
            }
        } else if s == e {
            write!(f, "{}-{:02}", s.year, s.month)
        } else {
            write!(f, "{}-{:02}..{}-{:02}", s.year, s.month, e.year, e.month)
        }
    }
}

fn parse_point(s: &str, is_end: bool) -> Result<YearMonth, ValidationError> {
    let bad = || {
        ValidationError::new(
            "period",
            "BAD_PERIOD",
            format!("`{s}` is not YYYY or YYYY-MM"),
        )
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    match s.split_once('-') {
        None if s.len() == 4 && digits(s) => {
            YearMonth::new(s.parse().map_err(|_| bad())?, if is_end { 12 } else { 1 })
        }
        Some((y, m)) if y.len() == 4 && m.len() == 2 && digits(y) && digits(m) => {
            YearMonth::new(y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?)
        }
        _ => Err(bad()),
    }
}

impl FromStr for Period {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        match s.split_once("..") {
            Some((a, b)) => Self::new(parse_point(a, false)?, parse_point(b, true)?),
            None => Self::new(parse_point(s, false)?, parse_point(s, true)?),
        }
    }
}

impl TryFrom<String> for Period {
    type Error = ValidationError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Period> for String {
    fn from(p: Period) -> String {
        p.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form_and_prints_canonically() {
        for (input, canonical) in [
            ("2022", "2022"),
            ("2020..2024", "2020..2024"),
            ("2019-10", "2019-10"),
            ("2019-01..2019-10", "2019-01..2019-10"),
            ("2020-01..2022-12", "2020..2022"),
            ("2021-01..2021-12", "2021"),
        ] {
            assert_eq!(
                input.parse::<Period>().unwrap().to_string(),
                canonical,
                "{input}"
            );
        }
    }

    #[test]
    fn rejects_bad_periods() {
        for bad in [
            "",
            "20",
            "2022..2020",
            "2019-13",
            "2019-1",
            "1800",
            "2019-10..2019-01",
            "x..y",
        ] {
            assert!(bad.parse::<Period>().is_err(), "{bad}");
        }
    }

    #[test]
    fn containment() {
        let plan: Period = "2020..2022".parse().unwrap();
        assert!(plan.contains(&"2021".parse().unwrap()));
        assert!(plan.contains(&"2022-03..2022-12".parse().unwrap()));
        assert!(!plan.contains(&"2023".parse().unwrap()));
        assert!(!plan.contains(&"2019-12..2020-02".parse().unwrap()));
        assert_eq!(plan.single_year(), None);
        assert_eq!("2021".parse::<Period>().unwrap().single_year(), Some(2021));
    }
}
